"""webapp/models.py: entries, the registry, loading by name or path."""
import os.path as osp

import pytest

from mpa_fer_plugin.webapp import (
    ModelEntry,
    ModelRegistry,
    builtin_entries,
    demo_checkpoint,
    entry_from_paths,
    index_entries,
)


def test_demo_checkpoint_follows_last_checkpoint(tmp_path):
    assert demo_checkpoint(str(tmp_path)) is None
    ckpt = tmp_path / 'epoch_10.pth'
    (tmp_path / 'last_checkpoint').write_text(str(ckpt))
    assert demo_checkpoint(str(tmp_path)) is None  # marker, no file
    ckpt.write_bytes(b'x')
    assert demo_checkpoint(str(tmp_path)) == str(ckpt)


def test_builtin_entries_without_a_demo_run(tmp_path):
    entries = builtin_entries(str(tmp_path))
    assert [e.name for e in entries] == ['zero-shot-demo', 'demo']
    assert entries[0].error is None and entries[0].checkpoint is None
    assert osp.isfile(entries[0].config)
    assert 'make demo' in entries[1].error
    registry = ModelRegistry(entries)
    assert registry.default == 'zero-shot-demo'
    with pytest.raises(KeyError, match='make demo'):
        registry.get('demo')
    listed = {m['name']: m for m in registry.list()}
    assert listed['demo']['error'] and not listed['demo']['loaded']


def test_entry_from_paths_checks_files(tmp_path):
    config = tmp_path / 'cfg.py'
    with pytest.raises(ValueError, match='needs its config'):
        entry_from_paths(str(tmp_path / 'a.pth'), None)
    with pytest.raises(FileNotFoundError, match='config file not found'):
        entry_from_paths(None, str(config))
    config.write_text('x = 1\n')
    with pytest.raises(FileNotFoundError, match='checkpoint file not'):
        entry_from_paths(str(tmp_path / 'a.pth'), str(config))
    (tmp_path / 'a.pth').write_bytes(b'x')
    entry = entry_from_paths(str(tmp_path / 'a.pth'), str(config))
    assert (entry.name, entry.kind) == ('a', 'trained')
    assert entry_from_paths(None, str(config)).kind == 'zero-shot'


def test_registry_builds_once_and_reports_unknown_names():
    built = []

    def builder(entry):
        built.append(entry.name)
        return f'pipeline of {entry.name}'

    registry = ModelRegistry([ModelEntry('a', 'A'), ModelEntry('b', 'B')],
                             builder=builder)
    assert registry.pipeline() == 'pipeline of a'
    assert registry.pipeline('a') == 'pipeline of a'
    assert registry.pipeline('b') == 'pipeline of b'
    assert built == ['a', 'b']
    with pytest.raises(KeyError, match="unknown model 'c'; known: a, b"):
        registry.pipeline('c')
    with pytest.raises(KeyError, match='neither a listed model'):
        registry.load('no-such-model-name')


def test_registry_load_removes_a_model_that_fails(tmp_path):
    config = tmp_path / 'cfg.py'
    config.write_text('x = 1\n')

    def builder(entry):
        raise ValueError(f'cannot build {entry.name}')

    registry = ModelRegistry([], builder=builder)
    with pytest.raises(ValueError, match='cannot build cfg'):
        registry.load(str(config), None)  # a config path: zero-shot entry
    assert list(registry.entries) == []
    with pytest.raises(FileNotFoundError, match='checkpoint file not'):
        registry.load(str(tmp_path / 'missing.pth'), str(config))


def test_index_entries():
    usable = {e.name: e for e in index_entries()}
    entry = usable['zero-shot_tiny-clip_demo']
    assert entry.kind == 'index' and osp.isfile(entry.config)
    assert entry.config.endswith('zsclip_tiny_demo.py')
    with pytest.raises(KeyError, match="no model named 'nope'"):
        index_entries(['nope'])


def test_builtin_entries_after_a_demo_run(tmp_path):
    ckpt = tmp_path / 'epoch_10.pth'
    ckpt.write_bytes(b'x')
    (tmp_path / 'last_checkpoint').write_text(str(ckpt))
    entries = builtin_entries(str(tmp_path))
    assert [e.name for e in entries] == ['demo', 'zero-shot-demo']
    assert entries[0].checkpoint == str(ckpt) and entries[0].error is None
