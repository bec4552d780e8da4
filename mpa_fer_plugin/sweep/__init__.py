"""Sweeps: rows (config + options) x datasets x seeds through the real tools.

A sweep file (an mmengine-style Python config under ``configs/sweeps/``)
names the rows, the datasets, the seeds, the model-selection rule and the
launcher; :func:`run_sweep` runs every combination through
``tools/train.py`` / ``tools/test.py`` in a subprocess with its own work
dir, reuses a finished run only when its recorded definition
(:mod:`.identity`) equals the current one, holds a lock on its work dir
(:mod:`.lock`), records failed runs and writes the results (CSV, JSON), a
Markdown table (mean +- std, paired difference to a reference row with a
95 % t-interval) and a bar chart. ``tools/sweep.py`` is the CLI.

Importing this package registers :class:`SweepFinalTestHook`.
"""
from .hooks import SweepFinalTestHook
from .results import collect_results, write_results
from .runner import run_sweep
from .spec import SELECTIONS, RunSpec, SweepSpec, load_sweep
from .tables import format_tables, paired_interval

__all__ = [
    'SweepFinalTestHook', 'collect_results', 'write_results', 'run_sweep',
    'SELECTIONS', 'RunSpec', 'SweepSpec', 'load_sweep', 'format_tables',
    'paired_interval'
]
