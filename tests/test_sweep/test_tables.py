"""Tables: mean +- std, paired t-intervals, failure and selection notes."""
import statistics

import pytest

from mpa_fer_plugin.sweep.spec import SweepSpec
from mpa_fer_plugin.sweep.tables import (
    format_tables,
    paired_interval,
    t_quantile,
)


def _sweep(**kw):
    return SweepSpec(
        path='x/demo.py', work_dir='w', seeds=[0, 1, 2], selection='last',
        rows=[dict(name='A', config='a.py'),
              dict(name='B', config='b.py', note='ours')],
        datasets=dict(d1={}, d2={}), reference='A',
        metrics=dict(WAR='accuracy/top1'), **kw)


def _rec(row, ds, seed, war, status='done', selection='last'):
    return dict(row=row, dataset=ds, seed=seed, status=status,
                selection=selection, chosen_epoch=10,
                metrics=dict(WAR=war) if status == 'done' else {},
                log='w/log' if status == 'failed' else None,
                error='boom' if status == 'failed' else None)


def test_paired_interval_matches_hand_computation():
    a = {0: 90.0, 1: 92.0, 2: 95.0}
    b = {0: 89.0, 1: 90.0, 2: 91.0}
    mean, low, high, n = paired_interval(a, b)
    diffs = [1.0, 2.0, 4.0]
    half = 4.303 * statistics.stdev(diffs) / 3 ** 0.5
    assert n == 3 and mean == pytest.approx(7 / 3)
    assert low == pytest.approx(7 / 3 - half, abs=1e-3)
    assert high == pytest.approx(7 / 3 + half, abs=1e-3)
    # only common seeds pair; an unseeded run pairs with every seed
    assert paired_interval({0: 1.0}, {1: 2.0}) is None
    assert paired_interval({None: 50.0}, b)[0] == pytest.approx(-40.0)
    assert t_quantile(2) == pytest.approx(4.303, abs=1e-3)


def test_table_renders_means_differences_failures_and_pivot():
    recs = [_rec('A', 'd1', s, w) for s, w in enumerate([90, 91, 92])]
    recs += [_rec('B', 'd1', s, w) for s, w in enumerate([92, 93, 95])]
    recs += [_rec('A', 'd2', 0, 80), _rec('A', 'd2', 1, 0, 'failed')]
    recs += [_rec('B', 'd2', 0, 70, selection='test')]
    text = format_tables(_sweep(), recs, header='Head.')
    lines = text.splitlines()
    assert lines[0] == 'Head.'
    row_b = next(ln for ln in lines if ln.startswith('| B (ours) | d1'))
    assert '93.3 ± 1.5' in row_b and '3/3' in row_b
    assert '+2.3 [' in row_b and '(n=3)' in row_b
    row_a2 = next(ln for ln in lines if ln.startswith('| A | d2'))
    assert '1/2 (1 failed)' in row_a2 and 'reference' in row_a2
    # a test-split selection is flagged, and the flag is explained
    assert any(ln.startswith('| B (ours) † | d2') for ln in lines)
    assert 'best epoch chosen on the test split' in text
    # pivot of the first metric and the list of failed runs
    assert '| A | 91.0 ± 1.0 | 80.0 |' in text
    assert '* A | d2 | seed 1: boom (log: w/log)' in text


def test_one_pair_is_a_difference_not_an_interval_and_rows_not_run_go():
    recs = [_rec('A', 'd1', 0, 90), _rec('B', 'd1', 0, 92)]
    text = format_tables(_sweep(), recs)
    row_b = next(ln for ln in text.splitlines()
                 if ln.startswith('| B (ours) | d1'))
    assert '+2.0 (n=1, no interval)' in row_b and '[' not in row_b
    # d2 was not run: no line for it; B alone (--rows B): no reference
    assert '| d2 |' not in text
    only_b = format_tables(_sweep(), recs[1:])
    assert '| A |' not in only_b and 'vs A' not in only_b
    assert '| B (ours) | d1 | 92.0 | 1/1 | 10 |' in only_b
