"""README's commands work as printed (issue 15, "Done when").

Every ``bash`` block of README.md is read; for each command:

* ``make X``: the Makefile has target X;
* ``bash tools/X.sh``: the script exists;
* ``python tools/X.py ...`` (also after ``VAR=...`` prefixes, ``torchrun``
  or ``.venv/bin/python``): the script exists and every ``--flag`` shown is
  an option of its parser (captured from ``ArgumentParser.parse_args``
  without running ``--help``); commands without placeholders parse fully;
* in the sections of :data:`WORK_DIRS_SECTIONS`, ``--out``/``--show-dir``/
  ``--save-path``/... targets lie under ``work_dirs/`` (nothing is written
  into the repository root); the other sections still show short
  ``--out results.json``-style examples;

and one cheap command (``get_flops.py`` on the demo config) runs as printed.
"""
import argparse
import os.path as osp
import re
import shlex
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(ROOT, 'tests', 'test_tools'))
from tool_loader import load_tool  # noqa: E402

#: Upper-case words that stand for a value the user supplies.
PLACEHOLDER = re.compile(r'^[A-Z][A-Z0-9_]*$|[\[\]{}|]|\.\.\.')
#: Sections whose commands write only under work_dirs/.
WORK_DIRS_SECTIONS = ('The two commands', 'Install', 'Training and testing',
                      'Using real data and CLIP weights', 'Configs',
                      'Tests', 'Layout')
#: Output flags whose targets must lie under work_dirs/.
OUTPUT_FLAGS = ('--out', '--show-dir', '--save-path', '--show-path',
                '--heatmap-dir')


def readme_commands():
    """``(line, section, command)`` of every command in README bash blocks."""
    text = open(osp.join(ROOT, 'README.md'), encoding='utf-8').read()
    commands = []
    for match in re.finditer(r'```bash\n(.*?)```', text, re.S):
        first = text[:match.start()].count('\n') + 2
        headers = re.findall(r'^## (.+)$', text[:match.start()], re.M)
        section = headers[-1] if headers else ''
        joined, start = '', None
        for i, line in enumerate(match.group(1).splitlines()):
            line = re.sub(r'\s+#.*$', '', line).rstrip()
            if line.lstrip().startswith('#') or not line.strip():
                continue
            start = first + i if start is None else start
            if line.endswith('\\'):
                joined += line[:-1] + ' '
                continue
            commands.append((start, section, joined + line))
            joined, start = '', None
    return commands


COMMANDS = readme_commands()


def _split(command):
    tokens = shlex.split(command)
    while tokens and re.match(r'^[A-Za-z_][A-Za-z0-9_]*=', tokens[0]):
        tokens.pop(0)  # VAR=value prefixes
    return tokens


class _Captured(Exception):

    def __init__(self, parser):
        super().__init__()
        self.parser = parser


def tool_parser(script: str, monkeypatch) -> argparse.ArgumentParser:
    """The ArgumentParser a tool builds, without running the tool."""
    module = load_tool(script)

    def capture(self, args=None, namespace=None):
        raise _Captured(self)

    monkeypatch.setattr(argparse.ArgumentParser, 'parse_args', capture)
    entry = getattr(module, 'parse_args', None) or module.main
    with pytest.raises(_Captured) as info:
        entry([])
    monkeypatch.undo()
    return info.value.parser


def _python_tool(tokens):
    """``(script under tools/, its arguments)`` or None."""
    for i, tok in enumerate(tokens):
        if tok.startswith('tools/') and tok.endswith('.py'):
            head = [osp.basename(t) for t in tokens[:i]]
            if any(h.startswith(('python', 'torchrun')) for h in head):
                return tok[len('tools/'):], tokens[i + 1:]
    return None


def test_readme_has_commands():
    kinds = {_split(c)[0] for _, _, c in COMMANDS if _split(c)}
    assert {'make', 'python', 'bash'} <= kinds
    assert len(COMMANDS) > 20


@pytest.mark.parametrize('line,section,command', COMMANDS,
                         ids=[f'L{n}' for n, _, _ in COMMANDS])
def test_command_exists_and_parses(line, section, command, monkeypatch):
    tokens = _split(command)
    where = f'README.md line {line}: {command}'
    if not tokens:
        return
    if tokens[0] == 'make':
        makefile = open(osp.join(ROOT, 'Makefile')).read()
        for target in tokens[1:]:
            assert re.search(rf'^{re.escape(target)}:', makefile, re.M), \
                f'{where}: no make target {target!r}'
        return
    if tokens[0] == 'bash' and tokens[1].startswith('tools/'):
        assert osp.isfile(osp.join(ROOT, tokens[1])), where
        return
    tool = _python_tool(tokens)
    if tool is None:
        return  # source, export, pip, pytest, ...
    script, args = tool
    assert osp.isfile(osp.join(ROOT, 'tools', script)), where
    parser = tool_parser(script, monkeypatch)
    options = set(parser._option_string_actions)
    for tok in args:
        flag = tok.strip('[]').split('=')[0]
        if flag.startswith('--'):
            assert flag in options, f'{where}: {script} has no {flag}'
    for flag, value in zip(args, args[1:]):
        if section in WORK_DIRS_SECTIONS and flag in OUTPUT_FLAGS and \
                not PLACEHOLDER.search(value):
            assert value.startswith('work_dirs/') or \
                value.startswith('docs/images'), \
                f'{where}: {flag} {value} writes outside work_dirs/'
    if not any(PLACEHOLDER.search(t) for t in args) and \
            not {'-h', '--help'} & set(args):
        parser.parse_args(args)  # exits (test error) on a bad command


def test_get_flops_runs_as_printed(monkeypatch, capsys):
    """The cheapest command of "Training and testing", run as printed."""
    printed = [c for _, _, c in COMMANDS
               if c.startswith('python tools/analysis_tools/get_flops.py '
                               'configs/mpa_fer_demo.py')]
    assert printed, 'README lost its get_flops command'
    monkeypatch.chdir(ROOT)
    script, args = _python_tool(_split(printed[0]))
    res = load_tool(script).main(args)
    assert res['input_shape'] == (3, 64, 64)
    assert 'FLOPs per image' in capsys.readouterr().out
