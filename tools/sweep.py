"""Run a sweep file: rows x datasets x seeds through tools/train.py/test.py.

Writes, under the sweep's work dir, one work dir per run, ``results.csv``,
``results.json``, ``table.md`` (mean +- std, paired difference to the
reference row with a 95 % t-interval) and ``bars.png``. A finished run is
reused only if its recorded definition (resolved config, options, seed,
epochs, selection, data fingerprints) equals the current one, so rerunning
the same command resumes an interrupted sweep, and an edited row is redone.
One sweep at a time per work dir (``sweep.lock``; ``--wait`` queues).

Examples::

    python tools/sweep.py configs/sweeps/demo_ablation.py --threads 1
    python tools/sweep.py configs/sweeps/paper_table1_rafdb.py --dry-run
    python tools/sweep.py configs/sweeps/paper_table1_rafdb.py \\
        --launcher slurm --partition gpu --gpus 8   # prints the commands
    python tools/sweep.py SWEEP --collect           # tables only
"""
import argparse
import os
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)


def parse_args(argv=None) -> argparse.Namespace:
    """Parse the command line."""
    from mmengine.config import DictAction

    from mpa_fer_plugin.utils.tool_utils import add_runtime_args
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('sweep', help='sweep file (configs/sweeps/*.py)')
    parser.add_argument('--work-dir', help="overrides the file's work_dir")
    parser.add_argument('--rows', nargs='+', help='run only these rows')
    parser.add_argument('--seeds', type=int, nargs='+',
                        help="overrides the file's seeds")
    parser.add_argument('--selection', choices=['last', 'val', 'test'],
                        help="overrides the file's model selection")
    parser.add_argument('--epochs', type=int,
                        help='training epochs of every run (rows and '
                        'datasets that set epochs keep theirs)')
    parser.add_argument('--launcher', choices=['single', 'dist', 'slurm'])
    parser.add_argument('--gpus', type=int, help='processes per run (dist) '
                        'or GPUs (slurm)')
    parser.add_argument('--partition', help='slurm partition')
    parser.add_argument('--collect', action='store_true',
                        help='only collect results and write the tables')
    parser.add_argument('--dry-run', action='store_true',
                        help='print the commands, run nothing')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='overrides applied to every run')
    change = parser.add_mutually_exclusive_group()
    change.add_argument(
        '--rerun-changed', dest='on_change', action='store_const',
        const='rerun', help='redo runs whose definition changed since '
        'their result was recorded, moving the old files to '
        '_replaced/ (the default)')
    change.add_argument(
        '--keep', dest='on_change', action='store_const', const='keep',
        help='leave runs whose definition changed as they are: not '
        'redone, listed as stale, not counted in the tables')
    change.add_argument(
        '--refuse-changed', dest='on_change', action='store_const',
        const='refuse', help="run nothing if a run's definition changed; "
        'name the runs and what changed')
    parser.set_defaults(on_change='rerun')
    parser.add_argument('--wait', action='store_true',
                        help='if another sweep holds the work dir, wait '
                        'for it instead of refusing')
    add_runtime_args(parser)
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    """Run or collect a sweep; return its results records."""
    args = parse_args(argv)
    os.environ.setdefault('HF_HUB_OFFLINE', '1')
    from mpa_fer_plugin.sweep.cli import sweep_main
    from mpa_fer_plugin.sweep.lock import SweepLocked
    from mpa_fer_plugin.sweep.runner import SweepRefused
    try:
        return sweep_main(args, ROOT)
    except (SweepLocked, SweepRefused) as exc:
        print(f'tools/sweep.py: {exc}', file=sys.stderr)
        sys.exit(3)


if __name__ == '__main__':
    main()
