"""The body of ``tools/sweep.py`` (argument handling stays in the tool)."""
import os
import os.path as osp
import shlex
import sys
import time
from typing import List

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
    if args.cfg_options:
        from ..utils.cfg_check import warn_unused_options
        for row in sweep.rows:
            if not args.rows or row['name'] in args.rows:
                warn_unused_options(row['config'], args.cfg_options,
                                    where=f'sweep row {row["name"]!r}')
    if args.dry_run:
        run_sweep(sweep, only=args.rows, dry_run=True)
        return []
    with SweepLock(sweep.work_dir, wait=getattr(args, 'wait', False)):
        return _run_and_collect(args, sweep)


def _run_and_collect(args, sweep) -> List[dict]:
    start = time.time()
    status = {}
    if not args.collect:
        status = run_sweep(sweep, only=args.rows,
                           on_change=getattr(args, 'on_change', 'rerun'))
        if sweep.launcher.get('type') == 'slurm':
            return []
    records = collect_results(sweep, status, only=args.rows)
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
