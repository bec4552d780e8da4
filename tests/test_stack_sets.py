"""requirements/*.txt, setup.py and the Makefile agree on the stack sets."""
import ast
import os.path as osp
import re
import subprocess

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from mpa_fer_plugin.utils.stack_check import DISTRIBUTIONS, TESTED_RANGES

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
OPENMMLAB = {d for dists in DISTRIBUTIONS.values() for d in dists}


def requirements(name, seen=None):
    """Requirements of requirements/NAME.txt with its ``-r`` includes."""
    out = []
    for line in open(osp.join(ROOT, 'requirements', f'{name}.txt')):
        line = line.split('#')[0].strip()
        if line.startswith('-r '):
            out += requirements(line[3:].strip()[:-len('.txt')])
        elif line:
            out.append(Requirement(line))
    return out


def pins(name):
    return {r.name.lower(): r for r in requirements(name)}


@pytest.fixture(scope='module')
def setup_requires():
    """install_requires and extras_require, read from setup.py's AST."""
    tree = ast.parse(open(osp.join(ROOT, 'setup.py')).read())
    call = next(n for n in ast.walk(tree) if isinstance(n, ast.Call)
                and getattr(n.func, 'id', None) == 'setup')
    kw = {k.arg: k.value for k in call.keywords}
    extras = ast.literal_eval(kw['extras_require'])
    return ([Requirement(r) for r in ast.literal_eval(kw['install_requires'])],
            {k: [Requirement(r) for r in v] for k, v in extras.items()})


def test_each_set_has_one_stack_and_opencv_below_5():
    up, onedl = pins('upstream'), pins('onedl')
    assert {'mmengine', 'mmcv-lite', 'mmpretrain'} <= set(up)
    assert {'onedl-mmengine', 'onedl-mmcv', 'onedl-mmpretrain'} <= set(onedl)
    # mmcv-lite would pull upstream mmengine over onedl-mmengine
    assert not OPENMMLAB & set(onedl) - {'onedl-mmengine', 'onedl-mmcv',
                                         'onedl-mmpretrain'}
    assert not OPENMMLAB & set(up) - {'mmengine', 'mmcv-lite', 'mmpretrain'}
    for stack in (up, onedl):
        for cv in ('opencv-python', 'opencv-python-headless'):
            assert not stack[cv].specifier.contains('5.0.0'), cv
        assert 'torch' not in stack  # torch comes from torch*.txt
    assert set(pins('ci')) == set(up) | {'torch', 'torchvision'}


def test_setup_names_no_stack_and_spans_both_torch_files(setup_requires):
    base, extras = setup_requires
    names = {r.name.lower() for r in base}
    assert not names & OPENMMLAB
    spec = {r.name.lower(): r.specifier for r in base}
    for torch_file in ('torch', 'torch-min'):
        for name, req in pins(torch_file).items():
            version = str(next(iter(req.specifier)).version)
            assert spec[name].contains(version), (torch_file, name)
            low, high = TESTED_RANGES[name]
            assert SpecifierSet(f'>={low},<{high}').contains(version)
    assert not spec['opencv-python'].contains('5.0.0')
    assert {r.name for r in extras['upstream']} == {
        'mmengine', 'mmcv-lite', 'mmpretrain'}
    assert {r.name for r in extras['onedl']} == {
        'onedl-mmengine', 'onedl-mmcv', 'onedl-mmpretrain'}
    # each stack's pinned versions lie in its extra's ranges
    for extra, stack in (('upstream', 'upstream'), ('onedl', 'onedl')):
        pinned = pins(stack)
        for req in extras[extra]:
            version = str(next(iter(pinned[req.name].specifier)).version)
            assert req.specifier.contains(version), (extra, req)
    assert 'scikit-image' in {r.name for r in extras['face']}
    headless = {r.name: r for r in extras['cam']}['opencv-python-headless']
    assert not headless.specifier.contains('5.0.0')


def test_make_refuses_a_venv_of_another_stack(tmp_path):
    venv = tmp_path / 'venv'
    venv.mkdir()
    (venv / '.mpa_fer_installed').write_text('upstream torch\n')
    proc = subprocess.run(
        ['make', '-s', 'check-venv-stack', f'VENV={venv}', 'STACK=onedl'],
        cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode != 0
    assert re.search(r"holds STACK/TORCH 'upstream torch', not 'onedl "
                     r"torch'", proc.stdout)
    ok = subprocess.run(['make', '-s', 'check-venv-stack', f'VENV={venv}'],
                        cwd=ROOT, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
