"""Temporary files left by killed saves are removed by the next save."""
import os
import subprocess
import sys
import time

import torch

import mpa_fer_plugin  # noqa: F401
from mpa_fer_plugin.utils.safe_checkpoint import (
    atomic_torch_save,
    find_latest_complete_checkpoint,
)
from mpa_fer_plugin.utils.temp_files import (
    STALE_TEMP_AGE_S,
    _host,
    clean_stale_temp_files,
    temp_prefix,
)


def _dead_pid():
    proc = subprocess.run([sys.executable, '-c', 'import os; '
                           'print(os.getpid())'], capture_output=True,
                          text=True, check=True)
    return int(proc.stdout)


def _touch(folder, name, age_s=0.0):
    path = folder / name
    path.write_bytes(b'PK partial')
    if age_s:
        old = time.time() - age_s
        os.utime(path, (old, old))
    return path


def test_only_stale_files_of_the_pattern_are_removed(tmp_path):
    dead = _touch(tmp_path, f'.epoch_3.pth.{_host()}_{_dead_pid()}.'
                  'ab12cd_3.tmp')
    mine = _touch(tmp_path, f'{temp_prefix("epoch_4.pth")}zzzzzzzz.tmp')
    other_host = _touch(tmp_path, '.epoch_5.pth.elsewhere_1.abcdefgh.tmp')
    other_old = _touch(tmp_path, '.epoch_6.pth.elsewhere_1.abcdefgh.tmp',
                       age_s=STALE_TEMP_AGE_S + 60)
    legacy_new = _touch(tmp_path, '.epoch_7.pth.k2j4h5g6.tmp')
    legacy_old = _touch(tmp_path, '.epoch_8.pth.k2j4h5g6.tmp',
                        age_s=STALE_TEMP_AGE_S + 60)
    unrelated = [_touch(tmp_path, n, age_s=STALE_TEMP_AGE_S + 60)
                 for n in ('notes.tmp', 'epoch_1.pth', '.x.tmp')]
    removed = clean_stale_temp_files(str(tmp_path))
    assert sorted(removed) == sorted(
        str(p) for p in (dead, other_old, legacy_old))
    for kept in (mine, other_host, legacy_new, *unrelated):
        assert kept.exists(), kept
    assert clean_stale_temp_files(str(tmp_path / 'missing')) == []


def test_next_save_and_resume_clean_a_killed_save(tmp_path):
    """What a SIGKILL during a save leaves: a temp file of a dead process."""
    name = f'.epoch_2.pth.{_host()}_{_dead_pid()}.q1w2e3r4.tmp'
    _touch(tmp_path, name)
    assert find_latest_complete_checkpoint(str(tmp_path)) is None  # resume
    assert not (tmp_path / name).exists()
    _touch(tmp_path, name)
    atomic_torch_save({'state_dict': {'w': torch.ones(1)}},
                      str(tmp_path / 'epoch_3.pth'))  # next save
    assert sorted(os.listdir(tmp_path)) == ['epoch_3.pth']
