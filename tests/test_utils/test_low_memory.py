"""Tests of mpa_fer_plugin.utils.low_memory (allocator settings, restart)."""
import os
import subprocess
import sys

import pytest

from mpa_fer_plugin.utils import low_memory as lm


def test_low_memory_env_sets_and_merges_tunables():
    env = lm.low_memory_env({'PATH': '/bin'})
    assert env['MALLOC_MMAP_THRESHOLD_'] == '131072'
    assert env['GLIBC_TUNABLES'] == 'glibc.malloc.hugetlb=1'
    assert env['PATH'] == '/bin'
    # Other tunables are kept; an existing hugetlb entry is replaced.
    env = lm.low_memory_env(
        {'GLIBC_TUNABLES':
         'glibc.malloc.hugetlb=0:glibc.malloc.tcache_count=0'},
        mmap_threshold=4096)
    assert env['GLIBC_TUNABLES'] == \
        'glibc.malloc.tcache_count=0:glibc.malloc.hugetlb=1'
    assert env['MALLOC_MMAP_THRESHOLD_'] == '4096'
    assert 'GLIBC_TUNABLES' not in lm.low_memory_env({}, huge_pages=False)
    with pytest.raises(ValueError, match='mmap_threshold=-1'):
        lm.low_memory_env({}, mmap_threshold=-1)


def test_needs_reexec():
    assert lm.needs_reexec({})
    assert lm.needs_reexec({'MALLOC_MMAP_THRESHOLD_': '131072'})
    assert not lm.needs_reexec(lm.low_memory_env({}))
    assert not lm.needs_reexec({lm.MARKER_ENV: '1'})


def test_enable_checkpointing():
    cfg = dict(model=dict(backbone=dict(type='mmpretrain.MPAPromptedViT')))
    assert lm.enable_checkpointing(cfg)['model']['backbone']['with_cp']
    with pytest.raises(ValueError, match='None'):
        lm.enable_checkpointing(dict(model=dict(type='X')))


def test_reexec_restarts_once_with_the_settings(tmp_path):
    # The child imports the module file alone (the package imports torch).
    script = tmp_path / 'child.py'
    script.write_text(
        'import os, sys\n'
        'print("start", os.environ.get("MALLOC_MMAP_THRESHOLD_"), '
        'os.environ.get("GLIBC_TUNABLES"), sys.argv[1:], flush=True)\n'
        'from low_memory import reexec_low_memory\n'
        'reexec_low_memory()\n'
        'print("done", flush=True)\n')
    env = {k: v for k, v in os.environ.items()
           if k not in ('MALLOC_MMAP_THRESHOLD_', 'GLIBC_TUNABLES',
                        lm.MARKER_ENV)}
    env['PYTHONPATH'] = os.path.dirname(lm.__file__)
    proc = subprocess.run([sys.executable, str(script), '--flag', 'x'],
                          env=env, capture_output=True, text=True,
                          timeout=60, check=True)
    lines = proc.stdout.splitlines()
    assert lines[0] == "start None None ['--flag', 'x']"
    assert lines[1] == \
        "start 131072 glibc.malloc.hugetlb=1 ['--flag', 'x']"
    assert lines[2:] == ['done']
