"""The sweep runner end to end through tools/sweep.py (subprocesses).

One sweep on the tiny world: a test-only row, two trained rows (one with
the validation carve), a row whose data is missing (must fail and be
recorded while the sweep goes on). The sweep is killed once its first
training run has finished, a second start meanwhile is refused, the first
result file is cut in half, and the rerun's CSV and table equal those of
an undisturbed sweep. An edited option redoes the run. Then in-process
tests of the runner with the tools replaced by a fake.
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
from sweep_helpers import write_sweep

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(ROOT, 'tools', 'sweep.py')


def _write_sweep(path, world, work_dir):
    config = world['config']
    broken = {'train_dataloader.dataset.data_root':
              str(work_dir) + '/nowhere'}
    return write_sweep(path, world, work_dir, rows=f"""[
    dict(name='A', config={config!r}),
    dict(name='zs', config={config!r}, train=False),
    dict(name='A-val', config={config!r}, selection='val', epochs=2),
    dict(name='broken', config={config!r}, cfg_options={broken!r}),
]""")


def _env():
    return dict(os.environ, HF_HUB_OFFLINE='1', OMP_NUM_THREADS='1',
                PYTHONWARNINGS='ignore')


def _run(sweep, *extra):
    return subprocess.run([sys.executable, TOOL, sweep, *extra], cwd=ROOT,
                          env=_env(), capture_output=True, text=True,
                          timeout=900)


def _comparable(work):
    """The CSV's numbers and statuses and the table's lines, by run."""
    with open(work / 'results.csv') as f:
        rows = {(r['row'], r['seed']): {
            k: v for k, v in r.items()
            if k not in ('seconds', 'log', 'error')} for r in
            csv.DictReader(f)}
    table = [ln for ln in (work / 'table.md').read_text().splitlines()
             if ln.startswith('|') or ln.startswith('Model selection')]
    return rows, table


def test_kill_corrupt_file_and_concurrent_start_change_no_number(
        sweep_world, tmp_path):
    calm = tmp_path / 'calm'
    out = _run(_write_sweep(tmp_path / 'calm.py', sweep_world, calm))
    assert out.returncode == 0, out.stderr[-3000:]

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
    # a second sweep on the same work dir is refused, naming the holder
    second = _run(sweep)
    assert second.returncode == 3, second.stderr[-2000:]
    assert f'another sweep is running in {work}: pid {proc.pid}' in \
        second.stderr
    os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its child run
    proc.wait()
    # the result file of the finished run is cut in the middle
    text = first.read_text()
    first.write_text(text[:len(text) // 2])

    out = _run(sweep)
    assert out.returncode == 0, out.stderr[-3000:]
    assert 'taking over the lock of a sweep that is no longer running' \
        f' (pid {proc.pid}' in out.stderr
    assert f'[1/4] A | tiny | seed 0: {first} is unreadable (' \
        'JSONDecodeError' in out.stderr
    assert 'the run is redone' in out.stderr
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
    assert broken['error'] and 'nowhere' in open(broken['log']).read()

    records = json.loads((work / 'results.json').read_text())['runs']
    a0 = next(r for r in records if r['row'] == 'A' and r['seed'] == 0)
    with open(first) as f:
        raw = json.load(f)['metrics']
    assert a0['metrics']['WAR'] == pytest.approx(raw['accuracy/top1'])
    # the held-out run validated on a carve of train, not on the test set
    val_cfg = (work / 'A-val__tiny__seed0' / 'run_config.py').read_text()
    assert "part='val'" in val_cfg and 'HoldoutSplit' in val_cfg
    table = (work / 'table.md').read_text()
    assert '| A | tiny |' in table and '1/1' in table
    assert '1 failed' in table and (work / 'bars.png').stat().st_size > 0
    # the kill, the cut file and the second start changed no number
    assert _comparable(work) == _comparable(calm)
    # a third start finds everything finished with the same definition
    again = _run(sweep)
    assert again.returncode == 0, again.stderr[-2000:]
    assert '[1/4] A | tiny | seed 0: finished before, skipped (same ' \
        'definition)' in again.stdout
    assert _comparable(work) == _comparable(calm)


def test_edited_options_redo_the_run_and_record_the_new_number(
        sweep_world, tmp_path):
    rows = f"[dict(name='A', config={sweep_world['config']!r})]"
    work = tmp_path / 'sweep'
    sweep = write_sweep(tmp_path / 's.py', sweep_world, work, rows=rows)
    assert _run(sweep).returncode == 0
    result = work / 'A__tiny__seed0' / 'sweep_result.json'
    before = json.loads(result.read_text())
    edit = ['--cfg-options', 'optim_wrapper.optimizer.lr=0.5',
            'env_cfg.cudnn_benchmrk=False']
    out = _run(sweep, *edit)
    assert out.returncode == 0, out.stderr[-3000:]
    assert ('[1/1] A | tiny | seed 0: definition changed since its result '
            'was recorded (env_cfg.cudnn_benchmrk: (unset) -> false; '
            'optim_wrapper.optimizer.lr: 0.01 -> 0.5); redone from '
            'scratch') in out.stdout
    # the misspelt key is named, with the key that was probably meant
    assert ("WARNING: --cfg-options env_cfg.cudnn_benchmrk: env_cfg has no "
            "key 'cudnn_benchmrk', so this option is probably ignored; did "
            "you mean 'cudnn_benchmark'? (sweep row 'A')") in out.stderr
    after = json.loads(result.read_text())
    assert 'lr=0.5' in (work / 'A__tiny__seed0' / 'run_config.py').read_text()
    # the number equals a fresh sweep's with the edited definition
    fresh = tmp_path / 'fresh'
    sweep2 = write_sweep(tmp_path / 's2.py', sweep_world, fresh, rows=rows)
    assert _run(sweep2, *edit).returncode == 0
    expected = json.loads(
        (fresh / 'A__tiny__seed0' / 'sweep_result.json').read_text())
    assert after['metrics'] == expected['metrics']
    assert after['checkpoint'] != before['checkpoint'] or \
        (work / '_replaced').is_dir()


# ---- in-process: the tools replaced by FakeTools (WAR = 1000 * lr) ----

def _load(path, work):
    from mpa_fer_plugin.sweep.spec import load_sweep
    return load_sweep(path, work_dir=str(work))


def _wars(sweep, only=None):
    from mpa_fer_plugin.sweep.results import collect_results
    return {(r['row'], r['status']): r['metrics'].get('WAR')
            for r in collect_results(sweep, only=only)}


def _lr_rows(world, lr):
    return (f"[dict(name='A', config={world['config']!r}, "
            f"cfg_options={{'optim_wrapper.optimizer.lr': {lr}}}),\n"
            f" dict(name='B', config={world['config']!r})]")


def test_edited_row_is_redone_and_its_new_number_recorded(
        sweep_world, tmp_path, fake_tools, capsys):
    from mpa_fer_plugin.sweep.runner import run_sweep
    work = tmp_path / 'w'
    path = write_sweep(tmp_path / 's.py', sweep_world, work,
                       rows=_lr_rows(sweep_world, 0.02))
    run_sweep(_load(path, work))
    assert _wars(_load(path, work)) == {('A', 'done'): 20.0,
                                        ('B', 'done'): 10.0}
    write_sweep(tmp_path / 's.py', sweep_world, work,
                rows=_lr_rows(sweep_world, 0.05))
    fake_tools.calls.clear()
    status = run_sweep(_load(path, work))
    out = capsys.readouterr().out
    assert fake_tools.calls == ['A__tiny__seed0']  # B is reused
    assert status['B__tiny__seed0']['status'] == 'skipped'
    assert ('A | tiny | seed 0: definition changed since its result was '
            'recorded (optim_wrapper.optimizer.lr: 0.02 -> 0.05); redone '
            'from scratch') in out
    # the new number, not the old model's, is credited to the new row
    assert _wars(_load(path, work)) == {('A', 'done'): 50.0,
                                        ('B', 'done'): 10.0}
    moved = list((work / '_replaced').iterdir())
    assert len(moved) == 1 and moved[0].name.startswith('A__tiny__seed0.')
    assert not list(work.glob('A__tiny__seed0/*.pth'))


def test_keep_and_refuse_never_credit_an_old_result(sweep_world, tmp_path,
                                                    fake_tools, capsys):
    from mpa_fer_plugin.sweep.runner import SweepRefused, run_sweep
    from mpa_fer_plugin.sweep.tables import format_tables
    work = tmp_path / 'w'
    path = write_sweep(tmp_path / 's.py', sweep_world, work,
                       rows=_lr_rows(sweep_world, 0.02))
    run_sweep(_load(path, work))
    write_sweep(tmp_path / 's.py', sweep_world, work,
                rows=_lr_rows(sweep_world, 0.05))
    fake_tools.calls.clear()
    with pytest.raises(SweepRefused) as info:
        run_sweep(_load(path, work), on_change='refuse')
    assert 'A__tiny__seed0: optim_wrapper.optimizer.lr: 0.02 -> 0.05' in \
        str(info.value)
    assert '--rerun-changed' in str(info.value) and not fake_tools.calls
    status = run_sweep(_load(path, work), on_change='keep')
    assert status['A__tiny__seed0']['status'] == 'stale'
    assert not fake_tools.calls
    assert 'kept as it is (--keep), not counted' in capsys.readouterr().out
    sweep = _load(path, work)
    assert _wars(sweep) == {('A', 'stale'): None, ('B', 'done'): 10.0}
    from mpa_fer_plugin.sweep.results import collect_results
    table = format_tables(sweep, collect_results(sweep))
    assert '| A | tiny | — | — | 0/1 (1 stale) |' in table
    assert 'Stale runs (not counted):' in table and '0.02 -> 0.05' in table


def test_corrupt_result_is_redone_with_a_warning(sweep_world, tmp_path,
                                                  fake_tools, capsys):
    from mpa_fer_plugin.sweep.runner import run_sweep
    work = tmp_path / 'w'
    path = write_sweep(tmp_path / 's.py', sweep_world, work)
    run_sweep(_load(path, work))
    result = work / 'A__tiny__seed0' / 'sweep_result.json'
    result.write_bytes(b'\xff\xfe{"metr')
    # collected before the rerun: failed, with an error naming the file
    sweep = _load(path, work)
    from mpa_fer_plugin.sweep.results import collect_results
    rec = next(r for r in collect_results(sweep) if r['row'] == 'A')
    assert rec['status'] == 'failed' and str(result) in rec['error']
    fake_tools.calls.clear()
    capsys.readouterr()
    run_sweep(sweep)
    captured = capsys.readouterr()
    assert f'WARNING: [1/2] A | tiny | seed 0: {result} is unreadable' in \
        captured.err and 'the run is redone' in captured.err
    assert fake_tools.calls == ['A__tiny__seed0']
    assert _wars(_load(path, work))[('A', 'done')] == 10.0


def test_rows_option_lists_only_the_rows_run(sweep_world, tmp_path,
                                             fake_tools):
    from mpa_fer_plugin.sweep.results import collect_results
    from mpa_fer_plugin.sweep.runner import run_sweep
    from mpa_fer_plugin.sweep.tables import format_tables
    work = tmp_path / 'w'
    path = write_sweep(tmp_path / 's.py', sweep_world, work,
                       rows=_lr_rows(sweep_world, 0.02))
    sweep = _load(path, work)
    run_sweep(sweep, only=['B'])
    records = collect_results(sweep, only=['B'])
    assert [r['row'] for r in records] == ['B']
    table = format_tables(sweep, records)
    assert '| B | tiny |' in table and '| A |' not in table
    assert 'n=1' not in table and 'vs A' not in table  # no reference
