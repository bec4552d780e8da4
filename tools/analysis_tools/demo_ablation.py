"""Ablation on the demo world: baselines and the Table 1 rows, over seeds.

Runs, on the generated faces of ``make demo`` with the committed tiny CLIP,
zero-shot CLIP, CoOp, KgCoOp, IVLP and the component ablation of the
paper's Table 1 (baseline -> + visual prompts -> + prototypes -> +
soft-hard -> + CGLA), each over several training seeds, with mmengine's
Runner (in this process, one runner per run) on the configs of
``configs/demo_ablation/`` and ``configs/mpa_fer_demo.py``. Every run is
evaluated on the test split after its last epoch (no model selection).
Writes a Markdown table of mean +- sample std of WAR and UAR, plus a JSON
file with every run.

Example (the README table)::

    python tools/analysis_tools/demo_ablation.py \\
        --work-dir work_dirs/demo_ablation --out demo_ablation.md
"""
import argparse
import json
import os
import os.path as osp
import statistics
import sys
import time
from datetime import date
from typing import Dict, List, Optional

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

#: Rows: (name, config relative to the repo root, note, trains, the row the
#: paired difference is taken to, group). Table 1 rows compare to the
#: previous step; controls and the Table 2/3 variants to the full MPA-FER.
_A = 'configs/demo_ablation/'
ROWS = (
    ('zero-shot CLIP', _A + 'zsclip.py', '', False, None, 'table1'),
    ('CoOp', _A + 'coop.py', 'baseline (text prompts)', True,
     'zero-shot CLIP', 'table1'),
    ('IVLP', _A + 'ivlp.py', '+ visual prompts', True, 'CoOp', 'table1'),
    ('IVLP + L_v', _A + 'ivlp_proto.py', '+ prototypes', True, 'IVLP',
     'table1'),
    ('IVLP + L_v + L_t', _A + 'ivlp_proto_align.py', '+ soft-hard', True,
     'IVLP + L_v', 'table1'),
    ('MPA-FER', 'configs/mpa_fer_demo.py', '+ CGLA (full)', True,
     'IVLP + L_v + L_t', 'table1'),
    ('shuffled descriptions', _A + 'mpa_fer_shuffled_descriptions.py',
     'control of L_t', True, 'MPA-FER', 'controls'),
    ('descriptions without the cue',
     _A + 'mpa_fer_descriptions_without_cue.py', 'control of L_t', True,
     'MPA-FER', 'controls'),
    ('k random patches', _A + 'mpa_fer_random_patches.py',
     'control of CGLA', True, 'MPA-FER', 'controls'),
    ('k = N (all patches)', _A + 'mpa_fer_all_patches.py',
     'control of CGLA', True, 'MPA-FER', 'controls'),
    ('prototypes from shuffled labels',
     _A + 'mpa_fer_shuffled_label_prototypes.py', 'control of L_v', True,
     'MPA-FER', 'controls'),
    ('granularity 1', _A + 'mpa_fer_granularity1.py', 'Table 2', True,
     'MPA-FER', 'table2'),
    ('granularity 2', _A + 'mpa_fer_granularity2.py', 'Table 2', True,
     'MPA-FER', 'table2'),
    ('prototypes from 4 a class', _A + 'mpa_fer_protos4.py', 'Table 3',
     True, 'MPA-FER', 'table3'),
    ('prototypes from 16 a class', _A + 'mpa_fer_protos16.py', 'Table 3',
     True, 'MPA-FER', 'table3'),
    ('prototypes from 64 a class', _A + 'mpa_fer_protos64.py', 'Table 3',
     True, 'MPA-FER', 'table3'),
    ('KgCoOp', _A + 'kgcoop.py', 'baseline', True, 'CoOp', 'baselines'),
)
GROUPS = ('table1', 'controls', 'table2', 'table3', 'baselines')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line (``argv`` defaults to ``sys.argv[1:]``)."""
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', default='work_dirs/demo_ablation')
    parser.add_argument('--data-root', default='data/synthetic_fer',
                        help='the demo world (generated if missing)')
    parser.add_argument('--num-train', type=int, default=700)
    parser.add_argument('--num-test', type=int, default=2100)
    parser.add_argument('--seeds', type=int, nargs='+',
                        default=[0, 1, 2, 3, 4])
    parser.add_argument('--epochs', type=int, default=None,
                        help="training epochs (default: the demo config's)")
    parser.add_argument('--rows', nargs='+', default=None,
                        help='row names to run (default: all of --groups)')
    parser.add_argument('--groups', nargs='+', choices=GROUPS,
                        default=list(GROUPS[:4]),
                        help='row groups (default: all but baselines)')
    parser.add_argument('--resume', action='store_true',
                        help='reuse the runs recorded in the JSON of --out')
    parser.add_argument('--out', default=None,
                        help='Markdown file (default: WORK_DIR/ablation.md)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        default=None, help='overrides for every run')
    return parser.parse_args(argv)


def _reset_singletons() -> None:
    """Forget mmengine's global instances between runners (as
    ``mmengine.testing.RunnerTestCase.tearDown`` does)."""
    import logging

    from mmengine.logging import MessageHub, MMLogger
    from mmengine.registry import DefaultScope
    from mmengine.visualization import Visualizer
    for logger in MMLogger._instance_dict.values():
        for handler in list(logger.handlers):
            if isinstance(handler, logging.FileHandler):
                handler.close()
                logger.removeHandler(handler)
    MMLogger._instance_dict.clear()
    Visualizer._instance_dict.clear()
    DefaultScope._instance_dict.clear()
    MessageHub._instance_dict.clear()


def build_cfg(config: str, work_dir: str, seed: int, data_root: str,
              epochs: Optional[int], proto_cache: str,
              cfg_options: Optional[dict] = None):
    """Load a row's config and set the run's seed, data, epochs and dirs.

    Validation during training is off (the run is tested once, after the
    last epoch) and checkpoints are kept to the last one.

    Returns:
        mmengine.Config: The config of one run.
    """
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(ROOT, config))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    cfg.work_dir = work_dir
    cfg.experiment_name = osp.basename(work_dir)
    cfg.randomness = dict(seed=seed, deterministic=False)
    cfg.log_level = 'WARNING'
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].dataset.data_root = data_root
    if epochs is not None:
        cfg.train_cfg.max_epochs = epochs
        for sched in cfg.param_scheduler:
            if sched.type == 'CosineAnnealingLR':
                sched.T_max = max(1, epochs - sched.get('begin', 0))
    cfg.train_cfg.val_interval = cfg.train_cfg.max_epochs + 1
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', interval=cfg.train_cfg.max_epochs,
        max_keep_ckpts=1, save_best=None)
    for hook in cfg.get('custom_hooks', []):
        if hook.type == 'PrototypeHook':
            hook.cache_dir = proto_cache
    return cfg


def run_one(cfg, train: bool) -> Dict[str, float]:
    """Train (if ``train``) and test one config; return WAR and UAR."""
    from mmengine.runner import Runner
    runner = Runner.from_cfg(cfg)
    try:
        if train:
            runner.train()
        metrics = runner.test()
    finally:
        _reset_singletons()
    return dict(war=float(metrics['accuracy/top1']),
                uar=float(metrics['single-label/recall']))


def _mean_std(values: List[float]) -> str:
    if len(values) < 2:
        return f'{values[0]:.1f}'
    return f'{statistics.mean(values):.1f} ± {statistics.stdev(values):.1f}'


def paired_difference(runs: List[dict], ref_runs: List[dict],
                      key: str = 'war') -> Optional[tuple]:
    """Mean paired difference (by seed) and its 95 % Student-t interval.

    A reference with one run (zero-shot, no seed dependence) is paired with
    every seed. Returns ``(mean, low, high, n)`` or None without pairs.
    """
    from scipy import stats
    ref = {r['seed']: r[key] for r in ref_runs}
    if len(ref_runs) == 1:
        ref = {r['seed']: ref_runs[0][key] for r in runs}
    diffs = [r[key] - ref[r['seed']] for r in runs if r['seed'] in ref]
    if not diffs:
        return None
    mean = statistics.mean(diffs)
    if len(diffs) < 2:
        return mean, float('nan'), float('nan'), 1
    half = stats.t.ppf(0.975, len(diffs) - 1) * statistics.stdev(
        diffs) / len(diffs)**0.5
    return mean, mean - half, mean + half, len(diffs)


def format_table(results: Dict[str, List[dict]], header: str) -> str:
    """The Markdown table: mean ± sample std over seeds and the paired
    WAR difference to the reference row with its 95 % t-interval."""
    lines = [header, '',
             '| method | step / role | WAR (%) | UAR (%) | ΔWAR vs '
             '(95 % CI) | WAR per seed |', '|---|---|---|---|---|---|']
    for name, _, note, _, ref, _ in ROWS:
        runs = results.get(name)
        if not runs:
            continue
        wars = [r['war'] for r in runs]
        diff = ''
        if ref and results.get(ref):
            d = paired_difference(runs, results[ref])
            if d is not None:
                diff = (f'{d[0]:+.1f} [{d[1]:+.1f}, {d[2]:+.1f}] vs {ref}'
                        if d[3] > 1 else f'{d[0]:+.1f} vs {ref}')
        lines.append(
            f'| {name} | {note} | {_mean_std(wars)} | '
            f'{_mean_std([r["uar"] for r in runs])} | {diff} | '
            + ', '.join(f'{w:.1f}' for w in wars) + ' |')
    return '\n'.join(lines)


def main(argv: Optional[List[str]] = None) -> Dict[str, List[dict]]:
    """Run the ablation; return the metrics of every run per row."""
    args = parse_args(argv)
    os.environ.setdefault('HF_HUB_OFFLINE', '1')
    sys.path.insert(0, ROOT)
    import torch

    import mpa_fer_plugin  # noqa: F401  (registers the plugin modules)
    from mpa_fer_plugin.demo.world import ensure_world

    rows = [r for r in ROWS if (r[0] in args.rows if args.rows else
                                r[5] in args.groups)]
    if args.rows and len(rows) != len(args.rows):
        raise ValueError(f'unknown rows in {args.rows}; known: '
                         f'{[r[0] for r in ROWS]}')
    work_dir = osp.abspath(args.work_dir)
    data_root = osp.abspath(args.data_root)
    os.makedirs(work_dir, exist_ok=True)
    ensure_world(data_root, args.num_train, args.num_test, 0)
    proto_cache = osp.join(work_dir, 'prototypes')
    jobs = [(row, seed) for row in rows
            for seed in (args.seeds[:1] if not row[3] else args.seeds)]
    out = args.out or osp.join(work_dir, 'ablation.md')
    results: Dict[str, List[dict]] = {}
    if args.resume and osp.isfile(osp.splitext(out)[0] + '.json'):
        with open(osp.splitext(out)[0] + '.json') as f:
            results = json.load(f)['results']
    start = time.time()
    cfg = None
    for k, ((name, config, _, train, _, _), seed) in enumerate(jobs):
        if any(r['seed'] == seed for r in results.get(name, [])):
            continue
        tag = f'{osp.splitext(osp.basename(config))[0]}_seed{seed}'
        cfg = build_cfg(config, osp.join(work_dir, tag), seed, data_root,
                        args.epochs, proto_cache, args.cfg_options)
        t0 = time.time()
        metrics = run_one(cfg, train)
        metrics.update(seed=seed, seconds=round(time.time() - t0, 1))
        results.setdefault(name, []).append(metrics)
        print(f'[{k + 1}/{len(jobs)}] {name}, seed {seed}: WAR '
              f'{metrics["war"]:.1f}, UAR {metrics["uar"]:.1f} '
              f'({metrics["seconds"]:.0f} s)', flush=True)
        _write(out, results, argv, None)

    if cfg is None:
        cfg = build_cfg(jobs[0][0][1], work_dir, 0, data_root, args.epochs,
                        proto_cache, args.cfg_options)
    epochs = cfg.train_cfg.max_epochs
    command = 'python tools/analysis_tools/demo_ablation.py ' + ' '.join(
        sys.argv[1:] if argv is None else argv)
    header = (
        f'Demo-world ablation, {date.today()}: `{command}`. '
        f'{args.num_train} train / {args.num_test} test generated faces '
        f'(balanced, data seed 0), committed tiny CLIP, '
        f'{epochs} epochs at batch {cfg.train_dataloader.batch_size}, seeds '
        f'{", ".join(map(str, args.seeds))} (zero-shot: no training, one '
        'run); last-epoch model on the test split; mean ± sample std; '
        'paired WAR difference by seed with a 95 % Student-t interval; '
        f'{torch.get_num_threads()} CPU threads, '
        f'{(time.time() - start) / 60:.1f} min.')
    table = format_table(results, header)
    print(table)
    _write(out, results, argv, table, epochs)
    print(f'written: {out}')
    return results


def _write(out: str, results: Dict[str, List[dict]],
           argv: Optional[List[str]], table: Optional[str],
           epochs: Optional[int] = None) -> None:
    """Write the runs so far (JSON) and the table when there is one."""
    command = 'python tools/analysis_tools/demo_ablation.py ' + ' '.join(
        sys.argv[1:] if argv is None else argv)
    if table is not None:
        with open(out, 'w') as f:
            f.write(table + '\n')
    with open(osp.splitext(out)[0] + '.json', 'w') as f:
        json.dump(dict(command=command, date=str(date.today()),
                       epochs=epochs, results=results), f, indent=2)


if __name__ == '__main__':
    main()
