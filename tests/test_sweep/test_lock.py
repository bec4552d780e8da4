"""The per-work-dir lock: refuse or wait, take over a dead holder's."""
import json
import os
import subprocess
import sys
import threading
import time

import pytest

from mpa_fer_plugin.sweep.lock import LOCK_FILE, SweepLock, SweepLocked


def test_second_sweep_is_refused_naming_the_holder(tmp_path):
    with SweepLock(str(tmp_path)) as first:
        assert first.held and (tmp_path / LOCK_FILE).exists()
        with pytest.raises(SweepLocked, match=f'pid {os.getpid()} '):
            SweepLock(str(tmp_path)).acquire()
    assert not (tmp_path / LOCK_FILE).exists()
    SweepLock(str(tmp_path)).acquire()  # free again


def test_waiting_sweep_starts_when_the_holder_ends(tmp_path, capsys):
    first = SweepLock(str(tmp_path))
    first.acquire()
    timer = threading.Timer(0.5, first.release)
    timer.start()
    start = time.time()
    second = SweepLock(str(tmp_path), wait=True, poll=0.05, timeout=30)
    second.acquire()
    timer.join()
    assert second.held and time.time() - start >= 0.4
    assert 'waiting for the sweep holding' in capsys.readouterr().out
    with pytest.raises(SweepLocked, match='gave up waiting'):
        SweepLock(str(tmp_path), wait=True, poll=0.05,
                  timeout=0.2).acquire()


def test_lock_of_a_dead_process_is_taken_over_with_a_warning(tmp_path,
                                                             capsys):
    dead = subprocess.Popen([sys.executable, '-c', 'pass'])
    dead.wait()  # its pid is free now
    (tmp_path / LOCK_FILE).write_text(json.dumps(dict(
        pid=dead.pid, host=os.uname().nodename, command='tools/sweep.py x',
        started='earlier')))
    with SweepLock(str(tmp_path)):
        holder = json.loads((tmp_path / LOCK_FILE).read_text())
        assert holder['pid'] == os.getpid()
    err = capsys.readouterr().err
    assert 'taking over the lock' in err and f'pid {dead.pid}' in err


def test_lock_of_another_host_is_never_taken_over(tmp_path):
    (tmp_path / LOCK_FILE).write_text(json.dumps(dict(
        pid=1, host='elsewhere-node', command='tools/sweep.py x')))
    with pytest.raises(SweepLocked, match='another host: delete'):
        SweepLock(str(tmp_path)).acquire()
