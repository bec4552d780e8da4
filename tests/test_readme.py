"""The commands of README.md and of every docs/*.md page work as printed.

Every ``bash`` block of README.md and of each page under docs/ is read; for
each command:

* ``make X``: the Makefile has target X;
* ``bash tools/X.sh``: the script exists;
* ``python tools/X.py ...`` (also after ``VAR=...`` prefixes, ``torchrun``
  or ``.venv/bin/python``): the script exists and every ``--flag`` shown is
  an option of its parser (captured from ``ArgumentParser.parse_args``
  without running ``--help``); commands without placeholders parse fully;
* ``python -m pytest PATH``: the test path exists;
* output flags (``--out``, ``--show-dir``, ...) write under ``work_dirs/``
  (nothing lands in the repository root), except in the sections a file
  lists in :data:`FREE_OUTPUT_SECTIONS`;

and one cheap command (``get_flops.py`` on the demo config) runs as printed.
Links, wording and the facts the pages state are checked in test_docs.py.
"""
import argparse
import glob
import os.path as osp
import re
import shlex
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(ROOT, 'tests', 'test_tools'))
from tool_loader import load_tool  # noqa: E402

#: Upper-case words that stand for a value the user supplies.
PLACEHOLDER = re.compile(r'^[A-Z][A-Z0-9_]*$|[\[\]{}|<>]|\.\.\.')
#: Output flags whose targets must lie under work_dirs/.
OUTPUT_FLAGS = ('--out', '--show-dir', '--save-path', '--show-path',
                '--heatmap-dir', '--out-video', '--out-csv', '--out-summary',
                '--save-scene', '--save-geometry', '--work-dir',
                '--demo-work-dir')
#: Per file (relative path): sections whose commands may write elsewhere,
#: e.g. short ``--out results.json`` examples. Empty: every command writes
#: under work_dirs/.
FREE_OUTPUT_SECTIONS = {}
#: Output targets allowed outside work_dirs/.
OUTPUT_PREFIXES = ('work_dirs/', 'docs/images', '/')


def doc_files():
    """README.md and every docs/*.md page, relative to the repository."""
    pages = sorted(glob.glob(osp.join(ROOT, 'docs', '*.md')))
    return ['README.md'] + [osp.relpath(p, ROOT) for p in pages]


def commands_of(relpath):
    """``(line, section, command)`` of every command in a file's bash
    blocks; continuation lines are joined, comments dropped."""
    text = open(osp.join(ROOT, relpath), encoding='utf-8').read()
    commands = []
    for match in re.finditer(r'^[ \t]*```(?:bash|sh|shell)\n(.*?)^[ \t]*```',
                             text, re.S | re.M):
        first = text[:match.start()].count('\n') + 2
        headers = re.findall(r'^#{1,3} (.+)$', text[:match.start()], re.M)
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


COMMANDS = [(f, *c) for f in doc_files() for c in commands_of(f)]


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


def test_every_page_is_read():
    files = doc_files()
    assert 'README.md' in files and 'docs/index.md' in files
    assert len(files) > 10
    kinds = {_split(c)[0] for f, _, _, c in COMMANDS
             if f == 'README.md' and _split(c)}
    assert {'make', 'python'} <= kinds
    assert len(COMMANDS) > 40


def _check_output(where, file, section, flag, value):
    if section in FREE_OUTPUT_SECTIONS.get(file, ()):
        return
    if flag in OUTPUT_FLAGS and not PLACEHOLDER.search(value):
        assert value.startswith(OUTPUT_PREFIXES), \
            f'{where}: {flag} {value} writes outside work_dirs/'


@pytest.mark.parametrize('file,line,section,command', COMMANDS,
                         ids=[f'{f}:L{n}' for f, n, _, _ in COMMANDS])
def test_command_exists_and_parses(file, line, section, command,
                                   monkeypatch):
    tokens = _split(command)
    where = f'{file} line {line}: {command}'
    if not tokens:
        return
    if tokens[0] == 'make':
        makefile = open(osp.join(ROOT, 'Makefile')).read()
        for target in (t for t in tokens[1:] if '=' not in t):
            assert re.search(rf'^{re.escape(target)}:', makefile, re.M), \
                f'{where}: no make target {target!r}'
        return
    if tokens[0] == 'bash' and tokens[1].startswith('tools/'):
        assert osp.isfile(osp.join(ROOT, tokens[1])), where
        return
    if tokens[:3] == ['python', '-m', 'pytest']:
        for tok in tokens[3:]:
            if tok.startswith('tests/'):
                assert osp.exists(osp.join(ROOT, tok.split('::')[0])), where
        return
    tool = _python_tool(tokens)
    if tool is None:
        return  # source, export, pip, ...
    script, args = tool
    assert osp.isfile(osp.join(ROOT, 'tools', script)), where
    parser = tool_parser(script, monkeypatch)
    options = set(parser._option_string_actions)
    for tok in args:
        flag = tok.strip('[]').split('=')[0]
        if flag.startswith('--'):
            assert flag in options, f'{where}: {script} has no {flag}'
    for flag, value in zip(args, args[1:]):
        _check_output(where, file, section, flag, value)
    if not any(PLACEHOLDER.search(t) for t in args) and \
            not {'-h', '--help'} & set(args):
        parser.parse_args(args)  # exits (test error) on a bad command


def test_get_flops_runs_as_printed(monkeypatch, capsys):
    """The cheapest printed command, run as printed."""
    printed = [c for _, _, _, c in COMMANDS
               if c == 'python tools/analysis_tools/get_flops.py '
               'configs/mpa_fer_demo.py']
    assert printed, 'the pages lost their get_flops command'
    monkeypatch.chdir(ROOT)
    script, args = _python_tool(_split(printed[0]))
    res = load_tool(script).main(args)
    assert res['input_shape'] == (3, 64, 64)
    assert 'FLOPs per image' in capsys.readouterr().out
