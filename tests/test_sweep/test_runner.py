"""The sweep runner end to end through tools/sweep.py (subprocesses).

One sweep on the tiny world: a test-only row, two trained rows (one with
the validation carve), a row whose data is missing (must fail and be
recorded while the sweep goes on). The sweep is killed once its first
training run has finished, then rerun: finished runs are skipped.
"""
import csv
import json
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(ROOT, 'tools', 'sweep.py')


def _write_sweep(path, world, work_dir):
    data = world['data_root']
    opts = {f'{k}_dataloader.dataset.data_root': data
            for k in ('train', 'val', 'test')}
    text = f"""
work_dir = {str(work_dir)!r}
seeds = [0]
selection = 'last'
reference = 'A'
threads = 1
metrics = dict(WAR='accuracy/top1', UAR='single-label/recall')
datasets = dict(tiny=dict(cfg_options={opts!r}))
rows = [
    dict(name='A', config={world['config']!r}),
    dict(name='zs', config={world['config']!r}, train=False),
    dict(name='A-val', config={world['config']!r}, selection='val',
         epochs=2),
    dict(name='broken', config={world['config']!r},
         cfg_options={{'train_dataloader.dataset.data_root':
                       {str(work_dir) + '/nowhere'!r}}}),
]
"""
    path.write_text(text)
    return str(path)


def _env():
    return dict(os.environ, HF_HUB_OFFLINE='1', OMP_NUM_THREADS='1',
                PYTHONWARNINGS='ignore')


def test_sweep_kill_resume_failure_and_tables(sweep_world, tmp_path):
    work = tmp_path / 'sweep'
    sweep = _write_sweep(tmp_path / 'tiny_sweep.py', sweep_world, work)
    first = work / 'A__tiny__seed0' / 'sweep_result.json'
    proc = subprocess.Popen([sys.executable, TOOL, sweep], cwd=ROOT,
                            env=_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.time() + 300
    while not first.exists() and proc.poll() is None and \
            time.time() < deadline:
        time.sleep(0.2)
    assert first.exists(), 'the first run never finished'
    os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its child run
    proc.wait()
    stamp = first.stat().st_mtime_ns

    out = subprocess.run([sys.executable, TOOL, sweep], cwd=ROOT,
                         env=_env(), capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert '[1/4] A | tiny | seed 0: finished before, skipped' in out.stdout
    assert first.stat().st_mtime_ns == stamp
    assert 'broken | tiny | seed 0: FAILED' in out.stdout

    with open(work / 'results.csv') as f:
        rows = {(r['row'], r['seed']): r for r in csv.DictReader(f)}
    assert len(rows) == 4
    for key in (('A', '0'), ('zs', ''), ('A-val', '0')):
        assert rows[key]['status'] == 'done', rows[key]
        assert 0.0 <= float(rows[key]['WAR']) <= 100.0
    assert rows[('A', '0')]['selection'] == 'last'
    assert rows[('A', '0')]['chosen_epoch'] == '1'
    assert rows[('A-val', '0')]['selection'] == 'val'
    assert rows[('A-val', '0')]['chosen_epoch'] in ('1', '2')
    assert rows[('A', '0')]['recall_Anger'] != ''
    broken = rows[('broken', '0')]
    assert broken['status'] == 'failed' and osp.isfile(broken['log'])
    assert 'nowhere' in open(broken['log']).read()

    records = json.loads((work / 'results.json').read_text())['runs']
    a0 = next(r for r in records if r['row'] == 'A' and r['seed'] == 0)
    with open(work / 'A__tiny__seed0' / 'sweep_result.json') as f:
        raw = json.load(f)['metrics']
    assert a0['metrics']['WAR'] == pytest.approx(raw['accuracy/top1'])
    # the held-out run validated on a carve of train, not on the test set
    val_cfg = (work / 'A-val__tiny__seed0' / 'run_config.py').read_text()
    assert "part='val'" in val_cfg and 'HoldoutSplit' in val_cfg
    table = (work / 'table.md').read_text()
    assert '| A | tiny |' in table and '1/1' in table
    assert '1 failed' in table and (work / 'bars.png').stat().st_size > 0
