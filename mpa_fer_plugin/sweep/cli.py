"""The body of ``tools/sweep.py`` (argument handling stays in the tool)."""
import os
import os.path as osp
import shlex
import sys
import time
from typing import Dict, List, Optional

from .identity import Fingerprints
from .lock import SweepLock
from .plot import plot_results
from .results import collect_results, write_results
from .runner import run_sweep
from .spec import load_sweep
from .tables import format_tables


def _load() -> str:
    try:
        return ' / '.join(f'{v:.1f}' for v in os.getloadavg())
    except OSError:
        return 'unknown'


#: Top-level keys a test-only row never reads (options for them are not
#: checked on such rows: a sweep-wide few-shot option, say).
TRAIN_ONLY = ('train_dataloader', 'train_cfg', 'optim_wrapper',
              'param_scheduler', 'val_dataloader', 'val_evaluator',
              'val_cfg', 'auto_scale_lr')


def check_options(sweep, only: Optional[List[str]] = None) -> List[str]:
    """Warn once about each option of the sweep that sets nothing.

    The options of every row (the sweep's, the command line's, the
    dataset's and the row's) are checked against the row's config (see
    :mod:`mpa_fer_plugin.utils.cfg_check`); a dataset with its own
    ``data_config`` is not checked (its dataloaders replace the row's), nor
    are training options on a test-only row.

    Returns:
        list[str]: The warnings printed.
    """
    from mmengine.config import Config

    from ..utils.cfg_check import check_options as find
    configs: Dict[str, object] = {}
    found: Dict[str, List[str]] = {}
    for spec in sweep.runs():
        if (only and spec.row not in only) or spec.data_config or \
                not spec.cfg_options:
            continue
        options = spec.cfg_options if spec.train else {
            k: v for k, v in spec.cfg_options.items()
            if k.split('.')[0] not in TRAIN_ONLY}
        if spec.config not in configs:
            configs[spec.config] = Config.fromfile(spec.config)
        for msg in find(configs[spec.config], options):
            rows = found.setdefault(msg, [])
            if spec.row not in rows:
                rows.append(spec.row)
    lines = []
    for msg, rows in found.items():
        names = ', '.join(repr(r) for r in rows)
        lines.append(f'WARNING: {msg} (sweep row{"s" if len(rows) > 1 else ""}'
                     f' {names})')
        print(lines[-1], file=sys.stderr, flush=True)
    return lines


def sweep_main(args, root: str) -> List[dict]:
    """Run (or only collect) the sweep named by ``args``.

    Args:
        args (argparse.Namespace): From ``tools/sweep.py``.
        root (str): The repository root (relative paths are resolved
            against it when they do not exist from the current directory).

    Returns:
        list[dict]: The result records (see :func:`collect_results`).
    """
    sweep = load_sweep(args.sweep, work_dir=args.work_dir, root=root)
    if args.seeds:
        sweep.seeds = list(args.seeds)
    if args.selection:
        sweep.selection = args.selection
    if args.launcher:
        sweep.launcher = dict(sweep.launcher, type=args.launcher)
    if args.gpus:
        sweep.launcher['gpus'] = args.gpus
    if args.partition:
        sweep.launcher['partition'] = args.partition
    if getattr(args, 'threads', None):
        sweep.threads = args.threads
    if getattr(args, 'epochs', None):
        sweep.epochs = args.epochs
    if args.cfg_options:
        sweep.cfg_options.update(args.cfg_options)
    if args.rows:
        unknown = set(args.rows) - {r['name'] for r in sweep.rows}
        if unknown:
            raise ValueError(f'unknown rows {sorted(unknown)}; the sweep has '
                             f'{[r["name"] for r in sweep.rows]}')
    check_options(sweep, args.rows)
    if args.dry_run:
        run_sweep(sweep, only=args.rows, dry_run=True)
        return []
    with SweepLock(sweep.work_dir, wait=getattr(args, 'wait', False)):
        return _run_and_collect(args, sweep)


def _run_and_collect(args, sweep) -> List[dict]:
    start = time.time()
    status = {}
    fps = Fingerprints()
    if not args.collect:
        status = run_sweep(sweep, only=args.rows,
                           on_change=getattr(args, 'on_change', 'rerun'),
                           fps=fps)
        if sweep.launcher.get('type') == 'slurm':
            return []
    records = collect_results(sweep, status, only=args.rows, fps=fps)
    paths = write_results(sweep, records)
    command = 'python tools/sweep.py ' + shlex.join(sys.argv[1:])
    done = sum(r['status'] == 'done' for r in records)
    header = (
        f'{sweep.title or sweep.name}. `{command}` '
        f'({time.strftime("%Y-%m-%d %H:%M")}; {done}/{len(records)} runs '
        f'finished; threads per run: {sweep.threads or "default"}; '
        f'load average {_load()}; this invocation '
        f'{(time.time() - start) / 60:.1f} min).')
    table = format_tables(sweep, records, header)
    table_path = osp.join(sweep.work_dir, 'table.md')
    with open(table_path, 'w') as f:
        f.write(table)
    png = plot_results(sweep, records, osp.join(sweep.work_dir, 'bars.png'))
    print(table)
    print(f'written: {paths["csv"]}, {paths["json"]}, {table_path}, {png}')
    return records
