"""benchmark.memory: peak RSS readings and an in-process measurement.

The subprocess path (one fresh interpreter per variant) runs in
tests/test_tools/test_benchmark.py; here the readings and ``measure``
itself are checked in this process on the tiny ``--quick`` CLIP.
"""
import torch

from mpa_fer_plugin.benchmark.memory import (
    measure,
    peak_rss_bytes,
    rss_bytes,
)
from mpa_fer_plugin.benchmark.models import QUICK_CLIP, save_random_clip
from mpa_fer_plugin.models.utils import clear_clip_cache


def test_peak_is_at_least_current_and_grows():
    before = peak_rss_bytes()
    now = rss_bytes()
    assert now is None or before >= now > 0
    block = torch.ones(64 * 2**20 // 4)  # 64 MiB, touched
    assert peak_rss_bytes() >= before
    assert peak_rss_bytes() >= (rss_bytes() or 0)
    del block


def test_measure_in_process(tmp_path):
    spec = save_random_clip('unused', QUICK_CLIP, str(tmp_path))
    try:
        out = measure(dict(variant='MPA-FER', clip=spec, batch=2,
                           device='cpu', threads=1, topk=4, steps=1,
                           with_cp=True))
    finally:
        clear_clip_cache()
    assert out['peak_rss_bytes'] >= out['rss_after_build_bytes'] > 2**20
    assert out['step_rss_increase_bytes'] == \
        out['peak_rss_bytes'] - out['rss_after_build_bytes']
    assert 'cuda_peak_bytes' not in out
    assert len(out['step_s']) == 1 and out['step_s'][0] > 0



def test_subprocess_gets_the_threshold_and_threads(monkeypatch):
    import subprocess

    from mpa_fer_plugin.benchmark import memory
    seen = {}

    def fake_run(cmd, env, **kwargs):
        seen.update(cmd=cmd, env=env)
        return subprocess.CompletedProcess(
            cmd, 0, stdout='noise\nMEMORY_RESULT {"peak_rss_bytes": 7}\n',
            stderr='')

    monkeypatch.setattr(memory.subprocess, 'run', fake_run)
    monkeypatch.delenv('MALLOC_MMAP_THRESHOLD_', raising=False)
    out = memory.measure_in_subprocess(dict(variant='MPA-FER', threads=1,
                                            mmap_threshold=131072))
    assert out == {'peak_rss_bytes': 7}
    assert seen['env']['MALLOC_MMAP_THRESHOLD_'] == '131072'
    assert seen['env']['OMP_NUM_THREADS'] == '1'
    assert seen['cmd'][1:3] == ['-m', 'mpa_fer_plugin.benchmark.memory']
    seen.clear()
    monkeypatch.delenv('GLIBC_TUNABLES', raising=False)
    memory.measure_in_subprocess(dict(variant='MPA-FER'))
    assert 'MALLOC_MMAP_THRESHOLD_' not in seen['env']
    assert 'GLIBC_TUNABLES' not in seen['env']
    # The --low-memory variant runs with train.py --low-memory's settings.
    memory.measure_in_subprocess(dict(variant='MPA-FER', low_memory=True))
    assert seen['env']['MALLOC_MMAP_THRESHOLD_'] == '131072'
    assert seen['env']['GLIBC_TUNABLES'] == 'glibc.malloc.hugetlb=1'
