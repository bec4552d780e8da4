"""README.md and docs/*.md: links resolve, wording, and the facts they state.

* every relative link and picture of README.md and of each docs page points
  to a file that exists, and a ``#anchor`` into a Markdown file to one of its
  headings (the Sphinx build checks the pages' own links too; README is not
  part of that build);
* no reference a reader cannot follow: internal tracking names, section
  numbers of a document that is not in the repository;
* README: at most 350 lines, the status box and the three paths;
* the facts the pages state match the code: the hard-prompt templates, the
  line the description check prints, the table ``make demo`` prints, and the
  own-config block is a complete config that needs no repository file.
"""
import glob
import os.path as osp
import re
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(ROOT, 'tests', 'test_tools'))
from tool_loader import load_tool  # noqa: E402

FILES = ['README.md'] + sorted(
    osp.relpath(p, ROOT) for p in glob.glob(osp.join(ROOT, 'docs', '*.md')))

#: Wording that points at things a reader of the repository cannot follow.
FORBIDDEN = [
    (re.compile(r'\bissues? #?\d+\b', re.I), 'a tracking issue number'),
    (re.compile(r'\breports? \d+\b', re.I), 'a tracking report number'),
    (re.compile(r'\bruns? [A-E]\b(?![-\w])'), 'a tracking run letter'),
    (re.compile(r'§\s*\d'), 'a section of an outside document'),
    (re.compile(r'earlier Haar picture', re.I), 'a picture that is not here'),
]


def _read(relpath):
    return open(osp.join(ROOT, relpath), encoding='utf-8').read()


def _prose(text):
    """The text without fenced code blocks and inline code spans."""
    text = re.sub(r'^[ \t]*(```|~~~).*?^[ \t]*\1', '', text,
                  flags=re.S | re.M)
    return re.sub(r'`[^`\n]*`', '', text)


def slug(heading):
    """The anchor of a Markdown heading (GitHub and MyST style)."""
    text = heading.replace('`', '').replace('*', '')
    text = re.sub(r'\[([^\]]*)\]\([^)]*\)', r'\1', text).strip().lower()
    text = re.sub(r'[^\w\- ]', '', text)
    return text.replace(' ', '-')


def anchors(relpath):
    """Anchors of every heading of a Markdown file."""
    text = re.sub(r'^[ \t]*```.*?^[ \t]*```', '', _read(relpath),
                  flags=re.S | re.M)
    return {slug(h) for h in re.findall(r'^#{1,6} (.+?)\s*$', text, re.M)}


def links(relpath):
    """``(target, anchor)`` of every relative link and picture."""
    out = []
    for target in re.findall(r'\]\(([^)\s]+)\)', _prose(_read(relpath))):
        if re.match(r'^[a-z]+:', target):
            continue  # http(s), mailto, ...
        path, _, anchor = target.partition('#')
        out.append((path, anchor))
    return out


@pytest.mark.parametrize('relpath', FILES)
def test_links_resolve(relpath):
    here = osp.dirname(osp.join(ROOT, relpath))
    for path, anchor in links(relpath):
        resolved = osp.normpath(osp.join(here, path)) if path else \
            osp.join(ROOT, relpath)
        assert osp.exists(resolved), \
            f'{relpath}: link to {path!r}, which does not exist'
        if anchor and resolved.endswith('.md'):
            assert anchor in anchors(osp.relpath(resolved, ROOT)), \
                f'{relpath}: no heading #{anchor} in {path or relpath}'


@pytest.mark.parametrize('relpath', FILES)
def test_no_references_a_reader_cannot_follow(relpath):
    prose = _prose(_read(relpath))
    for pattern, what in FORBIDDEN:
        match = pattern.search(prose)
        assert match is None, f'{relpath}: {what}: {match.group(0)!r}'
    # method.md only as a link to this repository's docs/method.md.
    unlinked = re.sub(r'\[[^\]]*\]\((?:docs/)?method\.md(?:#[^)]*)?\)',
                      '', prose)
    assert 'method.md' not in unlinked, \
        f'{relpath}: mentions method.md other than as a link to docs/'


def test_readme_shape():
    text = _read('README.md')
    assert len(text.splitlines()) <= 350
    status = text.split('## The two commands')[0]
    for needed in ('Status', 'GPU', 'real FER data', 'real CLIP weights',
                   'No model trained on real faces', '70.9', '73.7'):
        assert needed in status, f'status box lacks {needed!r}'
    for heading in ('## Path A: train and evaluate on your FER data',
                    '## Path B: label photos and videos',
                    '## Path C: compose the parts in your own config',
                    '## Install', '## Documentation', '## Tests',
                    '## Citation'):
        assert heading in text


def test_readme_demo_table_is_what_make_demo_prints():
    """The README's table, rebuilt by tools/demo.py from its own numbers."""
    text = _read('README.md')
    block = re.search(r'```text\n(\| metric.*?)```', text, re.S).group(1)
    rows = [r for r in block.strip().splitlines()[2:]]
    names = [n.strip() for n in block.splitlines()[0].split('|')[2:-1]]
    values = [[float(v) for v in r.split('|')[2:-1]] for r in rows]
    classes = [r.split('|')[1].strip()[len('recall '):] for r in rows[2:]]
    results = {
        name: {'accuracy/top1': values[0][i],
               'single-label/recall': values[1][i],
               'per_class/recall_classwise': [v[i] for v in values[2:]]}
        for i, name in enumerate(names)}
    demo = load_tool('demo.py')
    assert demo.format_table(results, classes) == block.strip()
    from mpa_fer_plugin.datasets.categories import FER7_CLASSES
    assert tuple(classes) == tuple(FER7_CLASSES)


def test_hard_prompt_templates_as_documented():
    from mpa_fer_plugin.prompts.templates import (
        HARD_PROMPT_TEMPLATES,
        format_hard_prompt,
    )
    text = _read('docs/method.md')
    for granularity, template in HARD_PROMPT_TEMPLATES.items():
        assert f'| {granularity}' in text and f'`{template}`' in text
    for granularity in (1, 2):
        example = format_hard_prompt('Happiness', granularity)
        assert f'`{example}`' in text
    # No final period by default at granularity 3, one with end_period.
    assert format_hard_prompt('Anger', 3, 'brows lowered').endswith(
        'lowered')
    assert format_hard_prompt('Anger', 3, 'brows lowered',
                              end_period=True).endswith('lowered.')


def test_description_check_prints_what_the_docs_say(capsys):
    text = _read('docs/method.md')
    command = re.search(r'python tools/generate_descriptions\.py --check '
                        r'(\S+)', text)
    quoted = re.search(r'It prints `([^`]+)`', text).group(1)
    assert load_tool('generate_descriptions.py').main(
        ['--check', osp.join(ROOT, command.group(1))]) == 0
    assert quoted in capsys.readouterr().out


def own_config_block():
    """The first python block under "Use the plugin from your own config"."""
    text = _read('docs/configs.md')
    section = text.split('## Use the plugin from your own config', 1)[1]
    return re.search(r'```python\n(.*?)```', section, re.S).group(1)


def test_own_config_block_is_complete(tmp_path, monkeypatch):
    from mmengine.config import Config
    block = own_config_block()
    assert '_base_' not in block and 'configs/' not in block
    path = tmp_path / 'my_fer_config.py'
    path.write_text(block)
    monkeypatch.chdir(tmp_path)
    cfg = Config.fromfile(str(path))
    for key in ('custom_imports', 'default_scope', 'model',
                'train_dataloader', 'val_dataloader', 'test_dataloader',
                'val_evaluator', 'optim_wrapper', 'param_scheduler',
                'train_cfg', 'default_hooks', 'custom_hooks'):
        assert key in cfg, f'the own-config block lacks {key}'
    assert cfg.custom_imports['imports'] == ['mpa_fer_plugin']
    assert cfg.model.head.classnames == cfg.classes


def test_readme_recipe_names_the_checkpoints_the_config_writes():
    """Path A tests the files that configs/mpa_fer_rafdb.py keeps: the best
    epoch on the evaluation split and the last epoch."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'mpa_fer_rafdb.py'))
    ckpt = cfg.default_hooks.checkpoint
    assert ckpt.save_best == 'auto' and ckpt.interval == 1
    assert cfg.val_evaluator[0]['type'] == 'Accuracy'  # first: accuracy/top1
    assert cfg.val_dataloader.dataset.split == 'test'  # RAF-DB has no val
    text = _read('README.md')
    assert 'best_accuracy_top1_epoch_N.pth' in text
    assert f'epoch_{cfg.train_cfg.max_epochs}.pth' in text
    assert '92.51' in text and 'best-on-test' in text


def test_code_and_configs_cite_only_what_users_have():
    """Docstrings (rendered in the API page), comments and configs name no
    tracking issue and no method document outside this repository."""
    import subprocess
    files = subprocess.run(
        ['git', 'ls-files', 'mpa_fer_plugin', 'configs', 'tools', 'tests',
         'Makefile', '.ci', 'setup.py', 'pyproject.toml', 'requirements'],
        cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    outside_method = re.compile(r'(?<!docs/)\bmethod\.md')
    bad = []
    for relpath in files:
        if relpath == 'tests/test_docs.py' or not relpath.endswith(
                ('.py', '.json', '.yml', '.txt', '.sh', '.md', 'Makefile',
                 'run', '.toml')):
            continue
        text = _read(relpath)
        for pattern, what in FORBIDDEN[:2] + [
                (outside_method, 'a method document users do not have')]:
            for match in pattern.finditer(text):
                line = text[:match.start()].count('\n') + 1
                bad.append(f'{relpath}:{line}: {what} ({match.group(0)!r})')
    assert not bad, '\n'.join(bad)
