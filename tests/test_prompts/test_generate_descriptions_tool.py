"""Tests of tools/generate_descriptions.py, run in-process via main(argv)."""
import json
import os
import re
import subprocess
import sys

from fake_chat_server import REPO, SECRET, TOOL, Reply

from mpa_fer_plugin.datasets.categories import FER7_CLASSES
from mpa_fer_plugin.prompts import DEFAULT_DESCRIPTIONS
from mpa_fer_plugin.prompts.generation import DescriptionGenerator

FAST = ['--n-per-class', '3', '--max-retries', '0', '--backoff', '0.01',
        '--retry-rounds', '1', '--timeout', '5']


def gen_args(server, out, *extra):
    return ['--base-url', server.base_url, '--model', 'fake-llm', '--out',
            str(out), *FAST, *extra]


def test_generate_label_set_with_progress_and_no_secret(
        tool, fake_openai, tmp_path, capsys):
    out, log = tmp_path / 'rafdb.json', tmp_path / 'run.log'
    fake_openai.script('Fear', Reply(status=429), Reply(content='not json'))
    code = tool.main(gen_args(fake_openai, out, '--label-set', 'rafdb',
                              '--seed', '3', '--log-file', str(log)))
    captured = capsys.readouterr()
    assert code == 0, captured.err
    data = json.loads(out.read_text())
    assert data['label_set'] == 'rafdb'
    assert data['classes'] == list(FER7_CLASSES)
    assert data['provenance']['seed'] == 3
    for i, cls in enumerate(FER7_CLASSES, 1):
        assert f'[{i}/7] {cls}: asking fake-llm ...' in captured.out
        assert f'[{i}/7] {cls}: done' in captured.out
    assert f'{out}: OK (7 classes, 21 descriptions' in captured.out
    assert 'RateLimitError (HTTP 429' in captured.err  # retry is visible
    log_text = log.read_text()
    assert 'unusable reply' in log_text and 'saved 3 descriptions' in log_text
    for text in (captured.out, captured.err, log_text, out.read_text()):
        assert SECRET not in text
    assert fake_openai.requests[0]['headers']['authorization'].endswith(
        SECRET)  # the key was really used


def test_custom_classes(tool, fake_openai, tmp_path, capsys):
    out = tmp_path / 'd.json'
    assert tool.main(gen_args(fake_openai, out, '--classes',
                              'Joy, Boredom')) == 0
    data = json.loads(out.read_text())
    assert data['label_set'] == 'custom'
    assert data['classes'] == ['Joy', 'Boredom']
    assert [r['cls'] for r in fake_openai.requests] == ['joy', 'boredom']


def test_server_errors_then_resume(tool, fake_openai, tmp_path, capsys):
    out = tmp_path / 'd.json'
    classes = 'Anger,Fear,Happiness'
    fake_openai.script('Fear', *[Reply(status=502)] * 2)
    code = tool.main(gen_args(fake_openai, out, '--classes', classes))
    err = capsys.readouterr().err
    assert code == 1
    assert "error: class 'Fear': giving up after 2 tries" in err
    assert 'rerun with --resume' in err
    assert list(json.loads(out.read_text())['descriptions']) == ['Anger']
    # without --resume an existing file is not touched
    assert tool.main(gen_args(fake_openai, out, '--classes', classes)) == 1
    assert 'exists; resume it (--resume)' in capsys.readouterr().err
    code = tool.main(gen_args(fake_openai, out, '--classes', classes,
                              '--resume'))
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert '[1/3] Anger: already in' in captured.out
    assert [fake_openai.count(c) for c in classes.split(',')] == [1, 3, 1]


def test_interrupted_run_resumes(tool, fake_openai, tmp_path, capsys,
                                 monkeypatch):
    out = tmp_path / 'd.json'
    real_ask = DescriptionGenerator.ask

    def ask_then_ctrl_c(self, cls):
        if cls == 'Happiness':
            raise KeyboardInterrupt
        return real_ask(self, cls)

    monkeypatch.setattr(DescriptionGenerator, 'ask', ask_then_ctrl_c)
    args = gen_args(fake_openai, out, '--classes', 'Anger,Fear,Happiness')
    assert tool.main(args) == 130
    assert 'interrupted' in capsys.readouterr().err
    assert list(json.loads(out.read_text())['descriptions']) == [
        'Anger', 'Fear']
    monkeypatch.setattr(DescriptionGenerator, 'ask', real_ask)
    assert tool.main(args + ['--resume']) == 0
    assert [r['cls'] for r in fake_openai.requests] == [
        'anger', 'fear', 'happiness']


def test_resume_with_other_settings_is_refused(tool, fake_openai, tmp_path,
                                               capsys):
    out = tmp_path / 'd.json'
    assert tool.main(gen_args(fake_openai, out, '--classes', 'Fear')) == 0
    before = out.read_text()
    capsys.readouterr()
    args = gen_args(fake_openai, out, '--classes', 'Fear', '--resume')
    args[args.index('fake-llm')] = 'other-llm'
    assert tool.main(args) == 1
    err = capsys.readouterr().err
    assert 'cannot resume' in err
    assert "model='fake-llm' (this run: 'other-llm')" in err
    assert out.read_text() == before and fake_openai.count('Fear') == 1


def test_auth_error_echoing_the_key(tool, fake_openai, tmp_path, capsys):
    fake_openai.script('Fear', Reply(
        status=401, content=f'Incorrect API key provided: {SECRET}'))
    log = tmp_path / 'run.log'
    code = tool.main(gen_args(fake_openai, tmp_path / 'd.json', '--classes',
                              'Fear', '--log-file', str(log)))
    captured = capsys.readouterr()
    assert code == 1 and 'HTTP 401' in captured.err
    for text in (captured.out, captured.err, log.read_text()):
        assert SECRET not in text


def test_usage_errors(tool, fake_openai, tmp_path, capsys, monkeypatch):
    assert tool.main(gen_args(fake_openai, tmp_path / 'd.json',
                              '--label-set', 'nope')) == 2
    assert 'unknown label set' in capsys.readouterr().err
    monkeypatch.delenv('OPENAI_API_KEY')
    assert tool.main(gen_args(fake_openai, tmp_path / 'd.json')) == 2
    assert 'set OPENAI_API_KEY' in capsys.readouterr().err
    assert not fake_openai.requests


def test_check_lists_all_problems(tool, tmp_path, capsys):
    with open(DEFAULT_DESCRIPTIONS, encoding='utf-8') as f:
        data = json.load(f)
    del data['descriptions']['Contempt']                     # missing class
    data['descriptions']['Fear'] = []                        # empty list
    data['descriptions']['Anger'][1] = (                     # duplicate
        '  ' + data['descriptions']['Anger'][0].upper() + '. ')
    data['descriptions']['Sadness'][0] = ' '.join(['wrinkled brow'] * 35)
    path = tmp_path / 'broken.json'
    path.write_text(json.dumps(data))
    assert tool.main(['--check', str(path)]) == 1
    out = capsys.readouterr().out
    assert f'{path}: 4 problem(s):' in out
    assert "class 'Contempt': missing" in out
    assert "class 'Fear': no descriptions" in out
    assert "class 'Anger': duplicate description" in out
    assert re.search(r"class 'Sadness': prompt has (\d+) tokens > 77 "
                     r'\(CLIP would truncate it\): .*wrinkled brow', out)
    # --classes restricts the check to those classes
    path.write_text(json.dumps(dict(data, descriptions={
        k: v for k, v in data['descriptions'].items() if k == 'Happiness'})))
    assert tool.main(['--check', str(path), '--classes', 'Happiness']) == 0


def test_check_shipped_file_in_process(tool, capsys):
    assert tool.main(['--check', DEFAULT_DESCRIPTIONS]) == 0
    assert ': OK (8 classes, 40 descriptions' in capsys.readouterr().out


def test_check_shipped_file_subprocess():
    env = dict(os.environ, HF_HUB_OFFLINE='1')
    proc = subprocess.run(
        [sys.executable, str(TOOL.relative_to(REPO)), '--check',
         DEFAULT_DESCRIPTIONS], cwd=REPO, env=env, capture_output=True,
        text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert 'OK (8 classes, 40 descriptions' in proc.stdout


def test_key_echo_and_huge_reply_through_the_tool(tool, fake_openai,
                                                  tmp_path, capsys):
    """A server echoing the key: nothing printed, logged or saved has it;
    a 10 MB description: every printed line stays short."""
    echo = json.dumps({'descriptions': [f'{SECRET} brows'] * 3})
    fake_openai.script('Fear', Reply(content=echo))
    huge = json.dumps({'descriptions': ['x' * 10_000_000, 'a b', 'c d']})
    fake_openai.script('Anger', *[Reply(content=huge)] * 3)
    out, log = tmp_path / 'd.json', tmp_path / 'run.log'
    code = tool.main(gen_args(fake_openai, out, '--classes', 'Fear, Anger',
                              '--log-file', str(log)))
    captured = capsys.readouterr()
    assert code == 1
    texts = (captured.out, captured.err, log.read_text(), out.read_text())
    for text in texts:
        assert SECRET not in text and SECRET[5:17] not in text
        assert max(map(len, text.splitlines())) < 1300
    assert json.loads(out.read_text())['descriptions']['Fear']
    assert "error: class 'Anger': no usable reply in 3 answers; last " \
        'problem: a description of 10000000 characters' in captured.err
