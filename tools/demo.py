"""`make demo`: MPA-FER end to end on the embedded demo world (CPU).

Steps, each with visible progress:

1. write the generated faces (RAF-DB layout) to ``data/synthetic_fer``;
2. write the tiny demo CLIP to ``data/demo_clip``;
3. train ``configs/mpa_fer_demo.py`` with ``tools/train.py``;
4. evaluate the last checkpoint with ``tools/test.py``;
5. print WAR, UAR and per-class recall.

Existing data and weights are reused; pass ``--fresh`` to rebuild them.
"""
import argparse
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import time
from typing import List, Optional

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)


def _run(cmd: List[str]) -> None:
    print('$ ' + ' '.join(cmd), flush=True)
    env = dict(os.environ, HF_HUB_OFFLINE='1',
               PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))
    subprocess.run(cmd, check=True, cwd=ROOT, env=env)


def _last_checkpoint(work_dir: str) -> str:
    marker = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(marker):
        raise FileNotFoundError(f'no checkpoint in {work_dir} ({marker})')
    with open(marker) as f:
        return f.read().strip()


def format_metrics(metrics: dict, classes: List[str]) -> str:
    """Render test metrics as a Markdown table (WAR, UAR, per-class)."""
    rows = [('WAR (accuracy)', metrics['accuracy/top1']),
            ('UAR (macro recall)', metrics['single-label/recall'])]
    per_class = metrics.get('per_class/recall_classwise')
    if per_class is not None:
        rows += [(f'recall {name}', value)
                 for name, value in zip(classes, per_class)]
    width = max(len(r[0]) for r in rows)
    lines = [f'| {"metric".ljust(width)} | value |',
             f'|{"-" * (width + 2)}|-------|']
    lines += [f'| {name.ljust(width)} | {value:5.1f} |'
              for name, value in rows]
    return '\n'.join(lines)


def main(argv: Optional[List[str]] = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--config', default='configs/mpa_fer_demo.py')
    parser.add_argument('--data-root', default='data/synthetic_fer')
    parser.add_argument('--clip-dir', default='data/demo_clip')
    parser.add_argument('--fresh', action='store_true',
                        help='regenerate data and CLIP weights')
    args = parser.parse_args(argv)
    start = time.time()
    py = sys.executable

    data_root = osp.join(ROOT, args.data_root)
    clip_dir = osp.join(ROOT, args.clip_dir)
    if args.fresh:
        shutil.rmtree(data_root, ignore_errors=True)
        shutil.rmtree(clip_dir, ignore_errors=True)

    print('[1/4] generated faces', flush=True)
    if osp.isfile(osp.join(data_root, 'EmoLabel',
                           'list_patition_label.txt')):
        print(f'  reusing {args.data_root}')
    else:
        _run([py, 'tools/dataset_converters/make_synthetic_fer.py',
              args.data_root, '--num-train', '700', '--num-test', '210',
              '--seed', '0'])

    print('[2/4] tiny CLIP weights', flush=True)
    if osp.isfile(osp.join(clip_dir, 'tiny_clip.pt')):
        print(f'  reusing {args.clip_dir}')
    else:
        _run([py, 'tools/misc/make_tiny_clip.py', args.clip_dir])

    print('[3/4] training', flush=True)
    cfg_opts = ['--cfg-options', f'data_root={args.data_root}',
                f'model.clip.pretrained={args.clip_dir}/tiny_clip.pt',
                f'train_dataloader.dataset.data_root={args.data_root}',
                f'val_dataloader.dataset.data_root={args.data_root}',
                f'test_dataloader.dataset.data_root={args.data_root}']
    _run([py, 'tools/train.py', args.config, '--work-dir', args.work_dir] +
         cfg_opts)

    print('[4/4] evaluation', flush=True)
    ckpt = _last_checkpoint(osp.join(ROOT, args.work_dir))
    out = osp.join(args.work_dir, 'test_metrics.json')
    _run([py, 'tools/test.py', args.config, ckpt, '--work-dir',
          args.work_dir, '--out', out, '--out-item', 'metrics'] + cfg_opts)
    with open(osp.join(ROOT, out)) as f:
        metrics = json.load(f)

    from mpa_fer_plugin.datasets.categories import FER7_CLASSES
    print('\nMPA-FER on the synthetic demo world (test split):')
    print(format_metrics(metrics, list(FER7_CLASSES)))
    print(f'\nmetrics: {out}; checkpoint: {ckpt}; '
          f'total {time.time() - start:.0f} s')
    return metrics


if __name__ == '__main__':
    main()
