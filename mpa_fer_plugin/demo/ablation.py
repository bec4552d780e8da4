"""The demo ablation table: Table 1 steps against the previous step.

``tools/sweep.py configs/sweeps/demo_ablation.py`` runs the ablation and
writes its own table with differences to one reference row (the full
MPA-FER). :func:`steps_table` renders the same finished runs the way the
issue asks for them: each Table 1 step against the step before it, every
other row (controls, choices, Table 2/3) against MPA-FER, with the paired
WAR difference by seed and its 95 % Student-t interval
(:func:`mpa_fer_plugin.sweep.tables.paired_interval`).
"""
import statistics
from typing import Dict, List, Optional

#: Table 1 order; each step is compared with the one before it.
TABLE1 = ('zero-shot CLIP', 'CoOp', 'IVLP', 'IVLP + L_v',
          'IVLP + L_v + L_t', 'MPA-FER')


def _fmt(values: List[float]) -> str:
    if len(values) < 2:
        return f'{values[0]:.1f}'
    return f'{statistics.mean(values):.1f} ± {statistics.stdev(values):.1f}'


def steps_table(records: List[dict], notes: Optional[Dict[str, str]] = None,
                reference: str = 'MPA-FER') -> str:
    """Markdown table of finished runs (records of ``collect_results``).

    Args:
        records (list[dict]): Sweep records (``row``, ``seed``, ``status``,
            ``metrics`` with ``WAR`` and ``UAR``).
        notes (dict, optional): Row -> note (the sweep rows' ``note``).
        reference (str): The row the non-Table-1 rows are compared with.

    Returns:
        str: The table; rows without a finished run are left out, rows
        with some runs missing say how many finished.
    """
    from mpa_fer_plugin.sweep.tables import paired_interval
    notes = notes or {}
    by_row: Dict[str, Dict] = {}
    order: List[str] = []
    total: Dict[str, int] = {}
    for rec in records:
        row = rec['row']
        if row not in order:
            order.append(row)
        total[row] = total.get(row, 0) + 1
        if rec.get('status') == 'done':
            by_row.setdefault(row, {})[rec['seed']] = rec['metrics']
    lines = ['| method | step / role | runs | WAR (%) | UAR (%) | ΔWAR (95 % '
             'CI) | vs | WAR per seed |', '|---|---|---|---|---|---|---|---|']
    for row in order:
        runs = by_row.get(row)
        if not runs:
            continue
        if row in TABLE1:
            i = TABLE1.index(row)
            ref = TABLE1[i - 1] if i else None
        else:
            ref = reference
        diff = ''
        if ref and by_row.get(ref):
            d = paired_interval({s: m['WAR'] for s, m in runs.items()},
                                {s: m['WAR'] for s, m in
                                 by_row[ref].items()})
            if d is not None:
                diff = (f'{d[0]:+.1f} [{d[1]:+.1f}, {d[2]:+.1f}]' if d[3] > 1
                        else f'{d[0]:+.1f}')
        seeds = sorted(runs, key=str)
        wars = [runs[s]['WAR'] for s in seeds]
        lines.append(
            f'| {row} | {notes.get(row, "")} | {len(runs)}/{total[row]} | '
            f'{_fmt(wars)} | {_fmt([runs[s]["UAR"] for s in seeds])} | '
            f'{diff} | {ref or ""} | '
            + ', '.join(f'{w:.1f}' for w in wars) + ' |')
    return '\n'.join(lines)


def sweep_steps_table(sweep_file: str, root: str) -> str:
    """:func:`steps_table` of a sweep file's finished runs."""
    from mpa_fer_plugin.sweep.results import collect_results
    from mpa_fer_plugin.sweep.spec import load_sweep
    sweep = load_sweep(sweep_file, root=root)
    notes = {r['name']: r.get('note', '') for r in sweep.rows}
    return steps_table(collect_results(sweep), notes, sweep.reference)
