"""Model zoo: publish -> load by name -> checksum mismatch refused; the
index, offline downloads and the docs table."""
import os.path as osp
import shutil

import pytest
import torch
from mpa_world import ROOT, load_tool

from mpa_fer_plugin.apis import model_zoo
from mpa_fer_plugin.apis.model_metafile import (
    docs_table_block,
    render_model_table,
)
from mpa_fer_plugin.apis.model_zoo import (
    ChecksumError,
    list_models,
    resolve_model,
    verify_checksum,
)

INDEX = """Import:
  - metafile.yml
"""
METAFILE = """Models:
- Name: tiny_test
  Config: {config}
  Metadata:
    Kind: prompt-tuned
    SHA256: null
  Weights: null
- Name: tiny_url
  Config: {config}
  Metadata:
    Kind: prompt-tuned
    SHA256: {sha}
  Weights: https://example.org/packs/{file}
"""


def _index(tmp_path, config):
    (tmp_path / 'model-index.yml').write_text(INDEX)
    (tmp_path / 'metafile.yml').write_text(METAFILE.format(
        config=config, sha='0' * 64, file='tiny_url-00000000.pth'))
    return str(tmp_path / 'model-index.yml')


def test_publish_load_by_name_and_refuse_mismatch(infer_world, tmp_path,
                                                  capsys):
    from mpa_fer_plugin.apis.face import FERPipeline
    index = _index(tmp_path, infer_world['config'])
    tool = load_tool('publish_prompts.py')
    ckpt = torch.load(infer_world['ckpt'], weights_only=False)
    ckpt['optimizer'] = {'state': {}}  # training state: dropped
    src = tmp_path / 'trained.pth'
    torch.save(ckpt, src)
    record = tool.main([str(src), 'tiny_test', '--out-dir',
                        str(tmp_path / 'packs'), '--config',
                        infer_world['config'], '--metafile',
                        str(tmp_path / 'metafile.yml')])
    path, sha = record['path'], record['sha256']
    assert osp.basename(path) == f'tiny_test-{sha[:8]}.pth'
    assert 'published' in capsys.readouterr().out
    pack = torch.load(path, weights_only=False)
    assert 'optimizer' not in pack
    assert pack['meta']['model_card']['name'] == 'tiny_test'
    assert set(pack['state_dict']) == set(ckpt['state_dict'])
    # the row now names the pack (path relative to the repository root)
    row = model_zoo.get_model_info('tiny_test', index)
    assert row['Metadata']['SHA256'] == sha
    assert row['Weights'] == osp.relpath(path, ROOT)
    # load by name: FERPipeline resolves and verifies it
    row_path = osp.join(tmp_path, row['Weights'])
    assert not osp.exists(row_path)  # relative to ROOT, not to the index
    config, weights = resolve_model('tiny_test', path, index=index)
    assert (config, weights) == (infer_world['config'], path)
    pipe = FERPipeline(config, weights, detector='none')
    assert pipe.model_card['name'] == 'tiny_test'
    # a changed byte: refused, naming the file
    bad = tmp_path / osp.basename(path)
    shutil.copy(path, bad)
    with open(bad, 'r+b') as f:
        f.seek(-2, 2)
        f.write(b'\x00\x01')
    with pytest.raises(ChecksumError, match='checksum mismatch.*' +
                       osp.basename(path)):
        resolve_model('tiny_test', str(bad), index=index)
    with pytest.raises(ChecksumError, match='its name says'):
        verify_checksum(str(bad), None)


def test_missing_weights_offline(infer_world, tmp_path, monkeypatch):
    index = _index(tmp_path, infer_world['config'])
    monkeypatch.setenv('MPA_FER_HOME', str(tmp_path / 'cache'))
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    with pytest.raises(FileNotFoundError) as err:
        resolve_model('tiny_url', index=index)
    message = str(err.value)
    assert 'offline' in message and 'https://example.org/packs/' in message
    assert osp.join(str(tmp_path / 'cache'), 'tiny_url-00000000.pth') in \
        message and 'MPA_FER_HOME' in message
    # a cached file with another checksum is refused
    (tmp_path / 'cache').mkdir()
    (tmp_path / 'cache' / 'tiny_url-00000000.pth').write_bytes(b'x')
    with pytest.raises(ChecksumError):
        resolve_model('tiny_url', index=index)
    with pytest.raises(FileNotFoundError, match='neither a config file'):
        resolve_model('no_such_model', index=index)


def test_repository_index():
    names = list_models()
    assert names[0] == 'mpa-fer_tiny-clip_demo'
    for name in ('mpa-fer_vit-b16_rafdb', 'mpa-fer_vit-b16_affectnet7',
                 'mpa-fer_vit-b16_affectnet8', 'mpa-fer_vit-b16_ferplus',
                 'mpa-fer_vit-l14_rafdb'):
        assert name in names
        with pytest.raises(FileNotFoundError, match='no published weights'):
            resolve_model(name)
    for name in names:  # every config of the index exists
        row = model_zoo.get_model_info(name)
        assert osp.isfile(osp.join(ROOT, row['Config'])), name
    assert resolve_model('zero-shot_tiny-clip_demo') == (
        osp.join(ROOT, 'configs', 'zero_shot', 'zsclip_tiny_demo.py'), None)


def test_docs_table_equals_the_index():
    with open(osp.join(ROOT, 'docs', 'model_zoo.md'), encoding='utf-8') as f:
        page = f.read()
    assert docs_table_block(page) == render_model_table(), (
        'docs/model_zoo.md is out of date: run python '
        'tools/publish_prompts.py --render-docs docs/model_zoo.md')


def test_resolve_cli_model():
    from mpa_fer_plugin.apis.model_zoo import resolve_cli_model
    demo = osp.join(ROOT, 'configs', 'mpa_fer_demo.py')
    with pytest.raises(ValueError, match="'none' to evaluate"):
        resolve_cli_model(demo, None)
    assert resolve_cli_model(demo, 'None') == (demo, 'none')
    assert resolve_cli_model(demo, 'x.pth') == (demo, 'x.pth')
    config, ckpt = resolve_cli_model('mpa-fer_tiny-clip_demo', None)
    assert config == demo and osp.basename(ckpt).startswith(
        'mpa-fer_tiny-clip_demo-')
    assert resolve_cli_model('zero-shot_tiny-clip_demo', None)[1] == 'none'
