"""Markdown tables of a sweep: mean +- std and paired differences.

For every (row, dataset) cell the table gives each metric as mean +- sample
standard deviation over the finished seeds, and the difference of the
first metric to the reference row, paired by seed, with a 95 % Student-t
interval: ``mean(d) +- t_{0.975, n-1} * sd(d) / sqrt(n)``.
"""
import math
import statistics
from typing import Dict, List, Optional, Sequence, Tuple

from .spec import SELECTIONS, SweepSpec

#: Two-sided 95 % quantiles t_{0.975, df} of Student's t, df = 1..30.
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262,
         2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101,
         2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052,
         2.048, 2.045, 2.042)


def t_quantile(df: int) -> float:
    """t_{0.975, df} (scipy if available, else a table / 1.96)."""
    try:
        from scipy.stats import t
        return float(t.ppf(0.975, df))
    except ImportError:
        return _T975[df - 1] if df <= 30 else 1.96


def mean_std(values: Sequence[float]) -> Tuple[float, Optional[float]]:
    """Mean and sample std (None for one value)."""
    values = list(values)
    std = statistics.stdev(values) if len(values) > 1 else None
    return statistics.mean(values), std


def paired_interval(a: Dict, b: Dict
                    ) -> Optional[Tuple[float, float, float, int]]:
    """Mean of ``a - b`` over common keys, with its 95 % t-interval.

    A key ``None`` (an unseeded run, e.g. zero-shot) pairs with every key
    of the other side.

    Args:
        a (dict): seed -> value.
        b (dict): seed -> value (the reference).

    Returns:
        tuple | None: ``(mean, low, high, n)``; ``low = high = mean`` for
        one pair; None without pairs.
    """
    if None in a and None not in b:
        a = {k: a[None] for k in b}
    if None in b and None not in a:
        b = {k: b[None] for k in a}
    keys = sorted(set(a) & set(b), key=str)
    if not keys:
        return None
    diffs = [a[k] - b[k] for k in keys]
    mean = statistics.mean(diffs)
    if len(diffs) < 2:
        return mean, mean, mean, 1
    half = t_quantile(len(diffs) - 1) * statistics.stdev(diffs) / \
        math.sqrt(len(diffs))
    return mean, mean - half, mean + half, len(diffs)


def _fmt(mean: float, std: Optional[float]) -> str:
    return f'{mean:.1f}' if std is None else f'{mean:.1f} ± {std:.1f}'


def _fmt_pair(pair) -> str:
    if pair is None:
        return '—'
    if pair[3] < 2:  # one pair: a difference, not an interval
        return f'{pair[0]:+.1f} (n=1, no interval)'
    return f'{pair[0]:+.1f} [{pair[1]:+.1f}, {pair[2]:+.1f}] (n={pair[3]})'


def rows_of(sweep: SweepSpec, records: List[dict]) -> List[str]:
    """The sweep's rows (in file order) that have records."""
    present = {r['row'] for r in records}
    return [r['name'] for r in sweep.rows if r['name'] in present]


def _cells(records: List[dict]) -> Dict[Tuple[str, str], List[dict]]:
    cells: Dict[Tuple[str, str], List[dict]] = {}
    for rec in records:
        cells.setdefault((rec['row'], rec['dataset']), []).append(rec)
    return cells


def _values(runs: List[dict], metric: str) -> Dict:
    return {r['seed']: r['metrics'][metric] for r in runs
            if r['status'] == 'done' and r['metrics'].get(metric) is not None}


def format_tables(sweep: SweepSpec, records: List[dict],
                  header: str = '') -> str:
    """The Markdown tables of a sweep.

    A long table (one line per row and dataset: every metric, the number
    of finished and failed runs, the chosen epochs and the paired
    difference to the reference) and, with several datasets, a pivot of
    the first metric (rows x datasets). Rows whose model was selected on
    the test split are marked with a dagger.

    Args:
        sweep (SweepSpec): The sweep.
        records (list[dict]): From :func:`collect_results`.
        header (str): A paragraph put before the tables.

    Returns:
        str: Markdown.
    """
    metrics = list(sweep.metrics)
    first = metrics[0]
    cells = _cells(records)
    rows = rows_of(sweep, records)
    notes = {r['name']: r.get('note', '') for r in sweep.rows}
    datasets = [d for d in sweep.datasets
                if any(r['dataset'] == d for r in records)]
    ref = sweep.reference if sweep.reference in rows else None
    lines = [header, ''] if header else []
    head = ['method', 'dataset'] + [f'{m} (%)' for m in metrics] + \
        ['runs', 'epoch']
    if ref:
        head.append(f'Δ{first} vs {ref} [95 % CI]')
    lines += ['| ' + ' | '.join(head) + ' |',
              '|' + '---|' * len(head)]
    flagged = False
    for row in rows:
        for ds in datasets:
            runs = cells.get((row, ds))
            if not runs:
                continue
            done = [r for r in runs if r['status'] == 'done']
            failed = sum(r['status'] == 'failed' for r in runs)
            stale = sum(r['status'] == 'stale' for r in runs)
            name = row + (f' ({notes[row]})' if notes.get(row) else '')
            if any(r.get('selection') == 'test' for r in done):
                name += ' †'
                flagged = True
            line = [name, ds]
            for m in metrics:
                vals = list(_values(done, m).values())
                line.append(_fmt(*mean_std(vals)) if vals else '—')
            count = f'{len(done)}/{len(runs)}'
            if failed:
                count += f' ({failed} failed)'
            if stale:
                count += f' ({stale} stale)'
            epochs = sorted({r.get('chosen_epoch') for r in done
                             if r.get('chosen_epoch') is not None})
            line += [count, ','.join(map(str, epochs)) or '—']
            if ref:
                if row == ref:
                    line.append('reference')
                else:
                    pair = paired_interval(
                        _values(done, first),
                        _values(cells.get((ref, ds), []), first))
                    line.append(_fmt_pair(pair))
            lines.append('| ' + ' | '.join(line) + ' |')
    selections = sorted({r.get('selection') for r in records
                         if r.get('selection')})
    lines.append('')
    lines.append('Model selection: ' + '; '.join(
        f'{s} = {SELECTIONS.get(s, s)}' for s in selections) + '.'
        + (' † = best epoch chosen on the test split (common FER practice; '
           'optimistic).' if flagged else ''))
    if len(datasets) > 1:
        lines += ['', f'{first} (%), mean ± std over seeds:', '',
                  '| method | ' + ' | '.join(datasets) + ' |',
                  '|---|' + '---|' * len(datasets)]
        for row in rows:
            line = [row]
            for ds in datasets:
                vals = list(_values(cells.get((row, ds), []),
                                    first).values())
                line.append(_fmt(*mean_std(vals)) if vals else '—')
            lines.append('| ' + ' | '.join(line) + ' |')
    for kind, title in (('failed', 'Failed runs:'),
                        ('stale', 'Stale runs (not counted):')):
        bad = [r for r in records if r['status'] == kind]
        if bad:
            lines += ['', title, '']
            lines += [f'* {r["row"]} | {r["dataset"]} | seed {r["seed"]}: '
                      f'{r.get("error") or "no error recorded"} '
                      f'(log: {r.get("log")})' for r in bad]
    return '\n'.join(lines) + '\n'
