"""`make demo`: MPA-FER end to end on the embedded demo world (CPU).

Steps, each printed as one line when it starts and one with its time and
log when it ends (the tools' whole output goes to ``WORK_DIR/<k>_<step>.log``,
one log per step; a progress bar shows on a terminal while a step trains or
tests; ``--verbose`` streams the output instead):

1. generate the demo world in the RAF-DB layout (``data/synthetic_fer``;
   a folder already there is reused only if it verifies against its
   manifest, see ``mpa_fer_plugin.demo.world.ensure_world``);
2. check the tiny CLIP pretrained by ``tools/misc/pretrain_tiny_clip.py``
   (committed under ``configs/demo_assets/tiny_clip``; ``--pretrain-clip``
   rebuilds it into ``data/demo_clip`` instead);
3. zero-shot CLIP (``configs/demo_ablation/zsclip.py``): evaluate the
   model as built (nothing to train) with ``tools/test.py CONFIG none``;
4. train and test CoOp (``configs/demo_ablation/coop.py``);
5. train ``configs/mpa_fer_demo.py`` with ``tools/train.py`` (its
   ``PrototypeHook`` builds the class prototypes first);
6. evaluate the last checkpoint with ``tools/test.py``;
7. draw the confusion matrix and the training curves, and print WAR, UAR
   and per-class recall of zero-shot CLIP, CoOp and MPA-FER side by side.

It ends with the table, where the outputs are and commands to try next.
A failing step prints the end of its log and the log's path.
``--fresh`` regenerates the data.
Smaller worlds for tests: ``--num-train``, ``--num-test``, ``--epochs``.
"""
import argparse
import hashlib
import json
import os
import os.path as osp
import shutil
import sys
import time
from typing import Dict, List, Optional

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)
from mpa_fer_plugin.datasets.synthetic import SHIFTS  # noqa: E402
from mpa_fer_plugin.demo.steps import (  # noqa: E402
    StepFailed,
    failure_report,
    run_command,
)
from mpa_fer_plugin.demo.world import DEMO_WORLD, ensure_world  # noqa: E402

sys.path.pop(0)
#: The committed tiny CLIP (see its provenance.json).
DEMO_CLIP = 'configs/demo_assets/tiny_clip/tiny_clip.pth'
#: Marker file of a work dir written by this tool (it may be wiped).
MARKER = 'demo_run.json'
#: RAF-DB's training-set class counts in canonical order (Anger, Disgust,
#: Fear, Sadness, Happiness, Surprise, Neutral), for ``--class-weights``.
RAFDB_CLASS_COUNTS = (705, 717, 281, 1982, 4772, 1290, 2524)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line (``argv`` defaults to ``sys.argv[1:]``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--config', default='configs/mpa_fer_demo.py')
    parser.add_argument('--zero-shot-config',
                        default='configs/demo_ablation/zsclip.py')
    parser.add_argument('--coop-config',
                        default='configs/demo_ablation/coop.py')
    parser.add_argument('--data-root', default='data/synthetic_fer')
    parser.add_argument('--num-train', type=int,
                        default=DEMO_WORLD['num_train'],
                        help='generated training faces (default: '
                        f'{DEMO_WORLD["num_train"]})')
    parser.add_argument('--num-test', type=int,
                        default=DEMO_WORLD['num_test'],
                        help='generated test faces (default: '
                        f'{DEMO_WORLD["num_test"]})')
    parser.add_argument('--data-seed', type=int, default=0)
    parser.add_argument('--class-weights', type=float, nargs=7,
                        default=None, help='relative class frequencies of '
                        'both splits, canonical order (default: balanced; '
                        f'RAF-DB: {" ".join(map(str, RAFDB_CLASS_COUNTS))})')
    parser.add_argument('--test-shift', nargs='+', default=[],
                        choices=SHIFTS, help='shifted factors of the test '
                        'split (default: none)')
    parser.add_argument('--clip', default=DEMO_CLIP,
                        help='tiny CLIP weights (default: the committed '
                        'ones)')
    parser.add_argument('--pretrain-clip', action='store_true',
                        help='pretrain the tiny CLIP into data/demo_clip '
                        '(once; reused afterwards) and use it')
    parser.add_argument('--epochs', type=int, default=None,
                        help="training epochs (default: the config's)")
    parser.add_argument('--no-plots', action='store_true',
                        help='skip the confusion-matrix and curve PNGs')
    parser.add_argument('--fresh', action='store_true',
                        help='regenerate the data (and a --pretrain-clip '
                        'CLIP)')
    parser.add_argument('--verbose', action='store_true',
                        help="stream every tool's whole output (default: "
                        'one line per step, logs in the work dir)')
    return parser.parse_args(argv)


class _Steps:
    """Numbered steps; each step's commands log into one file."""

    def __init__(self, work_dir: str, verbose: bool, total: int = 7):
        self.work_dir, self.verbose, self.total = work_dir, verbose, total
        self.number, self.log, self.started = 0, None, time.time()

    def start(self, title: str, name: str) -> None:
        """Print ``[k/7] title`` and open the step's log ``k_name.log``."""
        self.finish()
        self.number += 1
        self.started = time.time()
        self.log = None if self.verbose else osp.join(
            self.work_dir, f'{self.number}_{name}.log')
        print(f'[{self.number}/{self.total}] {title}', flush=True)

    def finish(self) -> None:
        """Print the time and log of the step that ran commands."""
        if self.log is not None and osp.isfile(self.log):
            print(f'      {time.time() - self.started:.0f} s, log '
                  f'{_short(self.log)}', flush=True)
        self.log = None

    def run(self, cmd: List[str], max_epochs: Optional[int] = None) -> None:
        """Run a tool from the repository root (see ``run_command``)."""
        env = dict(os.environ, HF_HUB_OFFLINE='1',
                   PYTHONPATH=ROOT + os.pathsep +
                   os.environ.get('PYTHONPATH', ''))
        run_command(cmd, self.log, ROOT, env, max_epochs=max_epochs)


def _max_epochs(config: str, epochs: Optional[int]) -> Optional[int]:
    """Training epochs of a config (for the progress bar)."""
    if epochs is not None:
        return epochs
    from mmengine.config import Config
    return Config.fromfile(_abs(config)).get('train_cfg', {}).get(
        'max_epochs')


def _abs(path: str) -> str:
    return path if osp.isabs(path) else osp.join(ROOT, path)


def _short(path: str) -> str:
    """``path`` relative to the repository root where it lies inside it."""
    inside = osp.abspath(path).startswith(ROOT + os.sep)
    return osp.relpath(path, ROOT) if inside else path


def _last_checkpoint(work_dir: str) -> str:
    marker = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(marker):
        raise FileNotFoundError(f'no checkpoint in {work_dir} ({marker})')
    with open(marker) as f:
        return f.read().strip()


def prepare_work_dir(work_dir: str) -> None:
    """Empty a work dir of an earlier demo run, or create it.

    A non-empty folder that this tool did not create (no :data:`MARKER`)
    is never deleted.
    """
    if osp.isdir(work_dir) and os.listdir(work_dir):
        if not osp.isfile(osp.join(work_dir, MARKER)):
            raise FileExistsError(
                f'{work_dir} is not empty and was not written by '
                'tools/demo.py; pass another --work-dir')
        shutil.rmtree(work_dir)
    os.makedirs(work_dir, exist_ok=True)


def check_clip(path: str) -> Dict:
    """Check the CLIP file against its ``provenance.json`` if there is one."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'tiny CLIP weights not found: {path}')
    record = {}
    prov = osp.join(osp.dirname(path), 'provenance.json')
    if osp.isfile(prov):
        with open(prov) as f:
            record = json.load(f)
        with open(path, 'rb') as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        if record.get('sha256') not in (None, digest):
            raise ValueError(f'{path} does not match the SHA-256 in {prov}')
    size = osp.getsize(path) / 2**20
    zs = record.get('zero_shot_heldout', {})
    print(f'  {path}: {size:.1f} MiB'
          + (f'; zero-shot top-1 on its held-out faces {zs["global_only"]:.1f}'
             f'% (global) / {zs["with_local"]:.1f}% (with the local branch)'
             if zs else ''), flush=True)
    return record


def format_table(results: Dict[str, dict], classes: List[str]) -> str:
    """Markdown table of WAR, UAR and per-class recall (in %) per model.

    Args:
        results (dict[str, dict]): Model name -> test metrics of
            ``tools/test.py --out-item metrics``.
        classes (list[str]): Class names in label order.

    Returns:
        str: The table.
    """
    names = list(results)
    rows = [('WAR (accuracy)', [m['accuracy/top1'] for m in
                                results.values()]),
            ('UAR (mean class recall)',
             [m['single-label/recall'] for m in results.values()])]
    for i, cls in enumerate(classes):
        rows.append((f'recall {cls}', [
            m['per_class/recall_classwise'][i] for m in results.values()]))
    width = max(len(r[0]) for r in rows)
    cols = [max(len(n), 5) for n in names]
    lines = ['| ' + 'metric (%)'.ljust(width) + ' | ' + ' | '.join(
        n.rjust(c) for n, c in zip(names, cols)) + ' |',
        '|' + '-' * (width + 2) + '|' + '|'.join(
            '-' * (c + 1) + ':' for c in cols) + '|']
    for name, values in rows:
        lines.append('| ' + name.ljust(width) + ' | ' + ' | '.join(
            f'{v:.1f}'.rjust(c) for v, c in zip(values, cols)) + ' |')
    return '\n'.join(lines)


def next_commands(config: str, ckpt: str, data_root: str,
                  work_dir: str) -> List[str]:
    """Three commands to try after the demo, on its model and data."""
    face = osp.join(data_root, 'Image', 'aligned', 'test_0003_aligned.jpg')
    return [
        '# label one aligned face and draw its CGLA heatmap',
        f'python tools/infer.py {face} {config} {ckpt} --no-detect '
        f'--heatmap-dir {osp.join(work_dir, "heatmaps")}',
        '# photos or the webcam in a browser page (http://127.0.0.1:7860)',
        f'python tools/web_demo.py --config {config} --checkpoint {ckpt}',
        '# a one-epoch training of your own',
        f'python tools/train.py {config} --work-dir '
        f'{work_dir}_1epoch --cfg-options train_cfg.max_epochs=1',
    ]


def main(argv: Optional[List[str]] = None) -> Dict[str, dict]:
    """Run the demo; return the test metrics per model.

    A failing step prints the end of its log and exits with status 1.
    """
    args = parse_args(argv)
    steps = _Steps(_abs(args.work_dir), args.verbose)
    try:
        return _main(args, steps)
    except StepFailed as err:
        steps.log = None
        print(failure_report(f'step [{steps.number}/{steps.total}]', err),
              flush=True)
        raise SystemExit(1)


def _main(args: argparse.Namespace, steps: _Steps) -> Dict[str, dict]:
    start = time.time()
    py = sys.executable
    work_dir = _abs(args.work_dir)
    data_root = _abs(args.data_root)
    prepare_work_dir(work_dir)
    with open(osp.join(work_dir, MARKER), 'w') as f:
        json.dump(vars(args), f, indent=2)

    steps.start(f'demo world -> {args.data_root}', 'world')
    ensure_world(data_root, args.num_train, args.num_test, args.data_seed,
                 class_weights=args.class_weights,
                 test_shift=args.test_shift, fresh=args.fresh)

    steps.start('tiny CLIP', 'clip')
    clip = args.clip
    if args.pretrain_clip:
        clip_dir = _abs('data/demo_clip')
        clip = osp.join(clip_dir, 'tiny_clip.pth')
        if args.fresh or not osp.isfile(clip):
            steps.run([py, 'tools/misc/pretrain_tiny_clip.py', clip_dir])
    check_clip(_abs(clip))

    opts = [f'model.clip.pretrained={clip}'] if clip != DEMO_CLIP else []
    if args.data_root != 'data/synthetic_fer':
        opts += [f'{k}.dataset.data_root={args.data_root}'
                 for k in ('train_dataloader', 'val_dataloader',
                           'test_dataloader')]
    cfg_opts = ['--cfg-options'] + opts if opts else []
    train_opts = list(opts)
    if args.epochs is not None:
        train_opts += [f'train_cfg.max_epochs={args.epochs}',
                       f'param_scheduler.1.T_max={max(1, args.epochs - 1)}']
    train_cfg_opts = ['--cfg-options'] + train_opts if train_opts else []

    steps.start('zero-shot CLIP (no training) on the test split',
                'zero_shot')
    zs_dir = osp.join(args.work_dir, 'zero_shot')
    zs_out = osp.join(zs_dir, 'test_metrics.json')
    steps.run([py, 'tools/test.py', args.zero_shot_config, 'none',
               '--work-dir', zs_dir, '--out', zs_out, '--out-item',
               'metrics'] + cfg_opts)

    steps.start('CoOp (text prompts only): training and test', 'coop')
    coop_dir = osp.join(args.work_dir, 'coop')
    coop_out = osp.join(coop_dir, 'test', 'test_metrics.json')
    steps.run([py, 'tools/train.py', args.coop_config, '--work-dir',
               coop_dir] + train_cfg_opts,
              _max_epochs(args.coop_config, args.epochs))
    steps.run([py, 'tools/test.py', args.coop_config,
               _last_checkpoint(_abs(coop_dir)), '--work-dir',
               osp.join(coop_dir, 'test'), '--out', coop_out, '--out-item',
               'metrics'] + cfg_opts)

    steps.start('class prototypes + training MPA-FER', 'mpa_fer_train')
    steps.run([py, 'tools/train.py', args.config, '--work-dir',
               args.work_dir] + train_cfg_opts,
              _max_epochs(args.config, args.epochs))

    steps.start('evaluating the last checkpoint on the test split',
                'mpa_fer_test')
    ckpt = _last_checkpoint(work_dir)
    test_dir = osp.join(args.work_dir, 'test')
    out = osp.join(test_dir, 'test_metrics.json')
    steps.run([py, 'tools/test.py', args.config, ckpt, '--work-dir',
               test_dir, '--out', out, '--out-item', 'metrics'] + cfg_opts)

    cm_png = osp.join(args.work_dir, 'confusion_matrix.png')
    curves_png = osp.join(args.work_dir, 'training_curves.png')
    if args.no_plots:
        steps.start('results (plots skipped)', 'plots')
    else:
        steps.start('confusion matrix, training curves and results',
                    'plots')
        steps.run([py, 'tools/analysis_tools/confusion_matrix.py',
                   args.config, ckpt, '--show-path', cm_png,
                   '--include-values'] + cfg_opts)
        steps.run([py, 'tools/analysis_tools/plot_curves.py',
                   args.work_dir, '--keys', 'loss', 'loss_cls',
                   'accuracy/top1', 'single-label/recall', '--out',
                   curves_png, '--title', 'MPA-FER on the demo world'])
    steps.finish()

    results = {}
    for name, path in (('zero-shot CLIP', zs_out), ('CoOp', coop_out),
                       ('MPA-FER', out)):
        with open(_abs(path)) as f:
            results[name] = json.load(f)
    from mpa_fer_plugin.datasets.categories import FER7_CLASSES
    print(f'\nDemo world: {args.num_train} train / {args.num_test} test '
          f'generated faces (seed {args.data_seed}, '
          f'{"balanced" if args.class_weights is None else "weighted"}, '
          f'test shift {args.test_shift or "none"}); tiny CLIP {clip}; '
          'test split:')
    print(format_table(results, list(FER7_CLASSES)))
    # The config as trained (data root and CLIP included), dumped by
    # mmengine into the work dir.
    config = osp.join(args.work_dir, osp.basename(args.config))
    ckpt_rel = _short(ckpt)
    print(f'\nmetrics: {zs_out}, {coop_out}, {out}')
    print(f'checkpoint: {ckpt_rel}; config: {config}')
    if not args.no_plots:
        print(f'plots: {cm_png}, {curves_png}')
    if not args.verbose:
        print(f'logs: {osp.join(args.work_dir, "*.log")} (one per step)')
    print('\nTry next:')
    for line in next_commands(config, ckpt_rel, args.data_root,
                              args.work_dir):
        print(f'  {line}')
    print(f'\ntotal {time.time() - start:.0f} s', flush=True)
    return results


if __name__ == '__main__':
    main()
