"""Plot training curves (loss, accuracy, ...) from a work dir's logs.

Reads mmengine's ``vis_data/scalars.json`` of every run in the work dir
(``WORK_DIR/<timestamp>/vis_data/scalars.json``; runs of a resumed
training are joined in time order, a later value replacing an earlier one
at the same step) with mmpretrain's ``load_json_log`` and draws one panel
per key with matplotlib. Training keys (``loss``, ``loss_cls``, ``lr``,
...) are drawn against the iteration, validation keys
(``accuracy/top1``, ``single-label/recall``, ...) against the epoch (the
iteration for iteration-based runs).

Example::

    python tools/analysis_tools/plot_curves.py work_dirs/demo \\
        --keys loss accuracy/top1 --out curves.png
"""
import argparse
import glob
import os.path as osp
import sys
from typing import Dict, List, Optional, Tuple

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('work_dir',
                        help='a work dir, or one scalars.json file')
    parser.add_argument('--keys', nargs='+', default=['loss'],
                        help='scalar names to plot (default: loss)')
    parser.add_argument('--out', required=True, help='output image file')
    parser.add_argument('--title', help='figure title')
    return parser.parse_args(argv)


def find_scalar_logs(work_dir: str) -> List[str]:
    """Return the ``scalars.json`` files of a work dir in time order.

    Args:
        work_dir (str): A work dir, or a ``scalars.json`` file.

    Returns:
        list[str]: The files (one per run).
    """
    if osp.isfile(work_dir):
        return [work_dir]
    if not osp.isdir(work_dir):
        raise FileNotFoundError(f'work dir not found: {work_dir}')
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                      'scalars.json')))
    files = [f for f in files if osp.getsize(f) > 0]
    if not files:
        raise FileNotFoundError(
            f'no */vis_data/scalars.json under {work_dir}; the runs need '
            "mmengine's LocalVisBackend (default_runtime.py sets it)")
    return files


def load_curves(files: List[str]) -> Tuple[Dict[str, dict], bool]:
    """Read scalar logs into ``{'train': {key: {step: v}}, 'val': ...}``.

    Args:
        files (list[str]): ``scalars.json`` files in time order.

    Returns:
        tuple[dict, bool]: The curves, and whether training was
        epoch-based (validation steps are then epochs).
    """
    from mmpretrain.utils import load_json_log
    curves = {'train': {}, 'val': {}}
    by_epoch = False
    for path in files:
        logs = load_json_log(path)
        for mode in ('train', 'val'):
            for record in logs[mode]:
                step = record.get('step')
                if step is None:
                    continue
                by_epoch |= mode == 'train' and 'epoch' in record
                for key, value in record.items():
                    if key in ('step', 'epoch', 'iter') or not isinstance(
                            value, (int, float)):
                        continue
                    curves[mode].setdefault(key, {})[step] = value
    return curves, by_epoch


def plot_curves(work_dir: str,
                keys: List[str],
                out_file: str,
                title: Optional[str] = None) -> List[Tuple[str, str]]:
    """Draw the curves of ``keys`` into ``out_file``.

    Args:
        work_dir (str): A work dir, or one ``scalars.json`` file.
        keys (list[str]): Scalar names, e.g. ``['loss', 'accuracy/top1']``.
        out_file (str): The image to write.
        title (str, optional): Figure title. Defaults to the work dir.

    Returns:
        list[tuple[str, str]]: The ``(mode, key)`` panels drawn.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    curves, by_epoch = load_curves(find_scalar_logs(work_dir))
    panels = []
    for key in keys:
        found = [(mode, key) for mode in ('train', 'val')
                 if key in curves[mode]]
        if not found:
            known = sorted(set(curves['train']) | set(curves['val']))
            raise ValueError(f'key {key!r} is not in the logs of '
                             f'{work_dir}; available: {known}')
        panels += found
    fig, axes = plt.subplots(len(panels), 1, squeeze=False,
                             figsize=(7, 2.6 * len(panels)))
    for ax, (mode, key) in zip(axes[:, 0], panels):
        points = sorted(curves[mode][key].items())
        ax.plot([p[0] for p in points], [p[1] for p in points],
                marker='o' if len(points) < 30 else None, markersize=3)
        ax.set_ylabel(key)
        ax.set_xlabel('iteration' if mode == 'train' or not by_epoch
                      else 'epoch')
        ax.set_title(f'{key} ({mode})', fontsize=9)
        ax.grid(alpha=0.3)
    fig.suptitle(title or osp.basename(osp.normpath(work_dir)))
    fig.tight_layout()
    fig.savefig(out_file, dpi=100)
    plt.close(fig)
    return panels


def main(argv: Optional[List[str]] = None) -> List[Tuple[str, str]]:
    """Run the tool; return the panels drawn."""
    args = parse_args(argv)
    panels = plot_curves(args.work_dir, args.keys, args.out, args.title)
    print(f'curves of {", ".join(k for _, k in panels)} saved to '
          f'{args.out}', flush=True)
    return panels


if __name__ == '__main__':
    main()
