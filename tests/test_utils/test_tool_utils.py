"""Tests of the dataloader defaults shared by tools/train.py and test.py."""
from mmengine.config import Config

from mpa_fer_plugin.utils.tool_utils import set_default_dataloader_cfg


def test_persistent_workers_only_with_workers():
    cfg = Config(dict(train_dataloader=dict(num_workers=0, batch_size=2),
                      val_dataloader=dict(num_workers=2, batch_size=2),
                      test_dataloader=None))
    for field in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        set_default_dataloader_cfg(cfg, field)
    assert cfg.train_dataloader.persistent_workers is False
    assert cfg.val_dataloader.persistent_workers is True
    assert cfg.train_dataloader.collate_fn == dict(type='default_collate')
    assert cfg.test_dataloader is None


def test_flags_and_recheck():
    cfg = Config(dict(train_dataloader=dict(num_workers=4)))
    set_default_dataloader_cfg(cfg, 'train_dataloader', no_pin_memory=True,
                               no_persistent_workers=True)
    assert cfg.train_dataloader.pin_memory is False
    assert cfg.train_dataloader.persistent_workers is False
    cfg.train_dataloader.update(num_workers=0, persistent_workers=True)
    set_default_dataloader_cfg(cfg, 'train_dataloader', recheck_only=True)
    assert cfg.train_dataloader.persistent_workers is False


def test_launch_args_export_local_rank(monkeypatch):
    import argparse

    from mpa_fer_plugin.utils.tool_utils import (
        add_launch_args,
        apply_launch_args,
    )
    parser = argparse.ArgumentParser()
    add_launch_args(parser)
    monkeypatch.delenv('LOCAL_RANK', raising=False)
    args = parser.parse_args(['--launcher', 'pytorch', '--local-rank', '3',
                              '--cfg-options', 'a.b=1', 'c=[1,2]'])
    assert args.launcher == 'pytorch' and args.cfg_options['a.b'] == 1
    assert args.cfg_options['c'] == [1, 2]
    apply_launch_args(args)
    import os
    assert os.environ['LOCAL_RANK'] == '3'
    # A launcher's LOCAL_RANK wins over the flag.
    monkeypatch.setenv('LOCAL_RANK', '1')
    apply_launch_args(parser.parse_args(['--local_rank', '5']))
    assert os.environ['LOCAL_RANK'] == '1'


def test_default_threads(monkeypatch):
    import pytest

    from mpa_fer_plugin.utils.tool_utils import (
        DEFAULT_CPU_THREADS,
        default_threads,
    )
    monkeypatch.delenv('OMP_NUM_THREADS', raising=False)
    assert default_threads(cuda_available=False) == DEFAULT_CPU_THREADS
    assert default_threads(cuda_available=True) is None
    monkeypatch.setenv('OMP_NUM_THREADS', '3')
    assert default_threads(cuda_available=False) == 3
    assert default_threads(cuda_available=True) == 3
    monkeypatch.setenv('OMP_NUM_THREADS', 'many')
    with pytest.raises(ValueError, match='many'):
        default_threads()


def test_apply_runtime_args_sets_threads(monkeypatch):
    import argparse

    import pytest
    import torch

    from mpa_fer_plugin.utils import tool_utils
    parser = argparse.ArgumentParser()
    tool_utils.add_runtime_args(parser)
    before = torch.get_num_threads()
    monkeypatch.setenv('OMP_NUM_THREADS', str(before))
    try:
        assert tool_utils.apply_runtime_args(
            parser.parse_args(['--threads', '2'])) == 2
        assert torch.get_num_threads() == 2
        import os
        assert os.environ['OMP_NUM_THREADS'] == '2'
        # No flag: OMP_NUM_THREADS (now 2) is kept.
        assert tool_utils.apply_runtime_args(parser.parse_args([])) == 2
        monkeypatch.delenv('OMP_NUM_THREADS')
        monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
        assert tool_utils.apply_runtime_args(parser.parse_args([])) == \
            tool_utils.DEFAULT_CPU_THREADS
        assert torch.get_num_threads() == tool_utils.DEFAULT_CPU_THREADS
        with pytest.raises(ValueError, match='--threads=0'):
            tool_utils.apply_runtime_args(
                parser.parse_args(['--threads', '0']))
    finally:
        torch.set_num_threads(before)


def test_enable_visualization_upscales():
    from mpa_fer_plugin.utils.tool_utils import (
        SHOW_MIN_SIZE,
        enable_visualization,
    )
    cfg = Config(dict(default_hooks=dict()))
    enable_visualization(cfg, show_dir='vis', interval=3)
    vis = cfg.default_hooks.visualization
    assert vis.type == 'VisualizationHook' and vis.enable is True
    assert vis.out_dir == 'vis' and vis.interval == 3
    assert vis.resize == SHOW_MIN_SIZE
