"""benchmark.timing: interleaved rounds and paired ratios."""
import time

import pytest
import torch

from mpa_fer_plugin.benchmark.timing import summarize, time_interleaved


def test_rounds_alternate_and_warmup_is_untimed():
    calls = []
    fns = {'a': lambda: calls.append('a'), 'b': lambda: calls.append('b')}
    times = time_interleaved(fns, repeats=3, warmup=1,
                             device=torch.device('cpu'))
    # 1 warm-up round, then a-b, b-a, a-b.
    assert calls == ['a', 'b', 'a', 'b', 'b', 'a', 'a', 'b']
    for clock in ('wall', 'cpu'):
        assert set(times[clock]) == {'a', 'b'}
        assert all(len(v) == 3 for v in times[clock].values())


def test_paired_ratio_of_a_slower_call():
    fns = {'fast': lambda: time.sleep(0.002),
           'slow': lambda: time.sleep(0.006)}
    times = time_interleaved(fns, repeats=3, warmup=0,
                             device=torch.device('cpu'))
    res = summarize(times, 'fast')
    assert res['fast']['ratio'] == pytest.approx(1.0)
    slow = res['slow']
    assert 1.5 < slow['ratio'] and slow['ratio_min'] <= slow['ratio'] <= \
        slow['ratio_max']
    assert slow['min_s'] <= slow['median_s'] <= slow['max_s']
    # Sleeping hardly uses the CPU: the CPU-time medians stay small.
    assert slow['cpu_median_s'] < slow['median_s']


def test_summarize_by_hand():
    times = {'wall': {'x': [1.0, 2.0, 4.0], 'y': [2.0, 2.0, 2.0]},
             'cpu': {'x': [1.0, 1.0, 1.0], 'y': [1.0, 2.0, 4.0]}}
    res = summarize(times, 'y')
    x = res['x']
    assert x['median_s'] == 2.0 and x['ratio'] == 1.0
    assert (x['ratio_min'], x['ratio_max']) == (0.5, 2.0)
    assert x['ratio_of_minima'] == 0.5
    assert x['cpu_ratio'] == 0.5 and x['cpu_ratio_max'] == 1.0
