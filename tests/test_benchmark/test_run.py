"""benchmark.run: the memory processes' order, rounds and allocator passes.

The whole run is exercised at tiny size by tests/test_tools/test_benchmark.py;
here the scheduling of the memory subprocesses is checked without running
them.
"""
from argparse import Namespace

import torch

from mpa_fer_plugin.benchmark import run
from mpa_fer_plugin.benchmark.report import LOW_MEMORY


def test_memory_rounds_alternate_and_low_memory_keeps_its_settings(
        monkeypatch):
    calls = []

    def fake(cfg):
        calls.append((cfg['variant'], cfg.get('with_cp', False),
                      cfg.get('low_memory', False), cfg['mmap_threshold']))
        return dict(peak_rss_bytes=len(calls), step_s=[1.0])

    monkeypatch.setattr(run, 'measure_in_subprocess', fake)
    names = ['MPA-FER', 'MPA-FER + checkpointing', LOW_MEMORY]
    args = Namespace(memory_batch=4, memory_steps=2, memory_rounds=2,
                     mmap_threshold=131072, memory_variants=names,
                     quick=True)
    out = run._memory(args, {}, torch.device('cpu'), log=lambda msg: None)
    plain = [('MPA-FER', False, False, None),
             ('MPA-FER', True, False, None), ('MPA-FER', True, True, None)]
    fixed = [(v, cp, low, 131072) for v, cp, low, _ in plain[:2]]
    # Round 2 runs the variants in reverse order; the fixed-threshold pass
    # leaves out the --low-memory variant (it has its own settings).
    assert calls == plain + plain[::-1] + fixed + fixed[::-1]
    assert out['rounds'] == 2 and out['steps'] == 2
    assert set(out['variants']) == set(names)
    assert set(out['variants_mmap']) == set(names[:2])
    first = out['variants']['MPA-FER']
    assert [r['peak_rss_bytes'] for r in first['rounds']] == [1, 6]
    assert first['peak_rss_bytes'] == 1
