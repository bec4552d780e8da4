"""mpa_fer_plugin/demo/steps.py: quiet commands, progress and failures."""
import sys

import pytest

from mpa_fer_plugin.demo.steps import (
    StepFailed,
    failure_report,
    parse_progress,
    run_command,
)


def test_parse_progress_of_mmengine_lines():
    train = ('12/08 01:23:57 - mmengine - INFO - Epoch(train)  [3][ 5/22]  '
             'lr: 1.9857e-03  eta: 0:00:19  loss: 1.4292')
    assert parse_progress(train, max_epochs=10) == ('train', 49, 220)
    assert parse_progress(train) == ('train', 5, 22)
    assert parse_progress('INFO - Epoch(test) [10/33]    eta: 0:00:09') \
        == ('eval', 10, 33)
    assert parse_progress('INFO - Epoch(val)  [2][ 5/33]  eta: 0') == (
        'eval', 5, 33)
    assert parse_progress('INFO - Epoch(test) [33/33]  accuracy/top1: '
                          '70.9') == ('eval', 33, 33)
    assert parse_progress('Config: model = dict(...)') is None


def test_run_command_logs_quietly(tmp_path, capsys):
    log = tmp_path / 'step.log'
    code = ('import sys\nfor i in range(1, 5):\n'
            '    print(f"Epoch(train)  [1][{i}/4]  loss: 1")\n'
            'print("to stderr", file=sys.stderr)')
    run_command([sys.executable, '-c', code], str(log), str(tmp_path),
                max_epochs=1, bar=True)
    assert capsys.readouterr().out.count('Epoch(train)') == 0
    text = log.read_text()
    assert text.startswith('$ ') and 'Epoch(train)  [1][4/4]' in text
    assert 'to stderr' in text


def test_a_failing_command_reports_its_log_tail(tmp_path):
    log = tmp_path / 'bad.log'
    code = ('for i in range(50):\n    print("line", i)\n'
            'raise SystemExit("the reason it failed")')
    with pytest.raises(StepFailed) as info:
        run_command([sys.executable, '-c', code], str(log), str(tmp_path),
                    tail_lines=5)
    err = info.value
    assert err.returncode == 1 and err.log == str(log)
    assert err.tail[-1] == 'the reason it failed' and len(err.tail) == 5
    report = failure_report('step [4/7]', err)
    assert report.startswith('step [4/7] failed: exit status 1')
    assert 'line 49' in report and 'line 44' not in report
    assert report.endswith(f'full log: {log}')
    assert 'line 0' in log.read_text()


def test_verbose_streams_the_output(tmp_path, capfd):
    """log_file=None (demo --verbose): the command line and its output go
    to the terminal, as the demo printed them before."""
    run_command([sys.executable, '-c', 'print("Epoch(train)  [1][1/1]")'],
                None, str(tmp_path))
    out = capfd.readouterr().out
    assert out.startswith('$ ') and 'Epoch(train)  [1][1/1]' in out
    with pytest.raises(StepFailed, match='exited with 3'):
        run_command([sys.executable, '-c', 'raise SystemExit(3)'], None,
                    str(tmp_path))
