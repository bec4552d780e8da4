"""Tests of the dataloader defaults shared by tools/train.py and test.py."""
import os.path as osp

import pytest
from mmengine.config import Config

from mpa_fer_plugin.utils.tool_utils import set_default_dataloader_cfg

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


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


def _schedule(max_epochs):
    return Config(dict(
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        param_scheduler=[
            dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0,
                 end=1, convert_to_iter_based=True),
            dict(type='CosineAnnealingLR', by_epoch=True, begin=1,
                 T_max=119, eta_min=0.0),
            dict(type='ConstantLR', by_epoch=True, begin=0, end=200),
            dict(type='LinearLR', by_epoch=False, begin=0, end=50)]))


def test_schedule_fitted_to_a_shorter_training():
    from mpa_fer_plugin.utils.tool_utils import fit_schedule_to_training
    cfg = _schedule(1)
    notes = fit_schedule_to_training(cfg, log=False)
    assert [s['type'] for s in cfg.param_scheduler] == [
        'LinearLR', 'ConstantLR', 'LinearLR']
    assert cfg.param_scheduler[1]['end'] == 1
    assert cfg.param_scheduler[2]['end'] == 50  # no max_iters to fit
    assert len(notes) == 2
    assert 'param_scheduler[1] (CosineAnnealingLR) begins at 1' in notes[0]
    assert 'train_cfg.max_epochs=1' in notes[0]
    assert 'end 200 -> 1' in notes[1]
    # The full training keeps the schedule as written.
    cfg = _schedule(120)
    assert fit_schedule_to_training(cfg, log=False) == [
        'param_scheduler[2] (ConstantLR) end 200 -> 120 '
        '(train_cfg.max_epochs=120)']
    assert len(cfg.param_scheduler) == 4
    # Iteration-based schedules against max_iters; nothing to do without
    # a schedule.
    cfg = Config(dict(train_cfg=dict(type='IterBasedTrainLoop',
                                     max_iters=10),
                      param_scheduler=dict(type='LinearLR', by_epoch=False,
                                           begin=20)))
    assert fit_schedule_to_training(cfg, log=False)
    assert cfg.param_scheduler == []
    assert fit_schedule_to_training(Config(dict(train_cfg={})),
                                    log=False) == []


def test_image_and_config_swapped():
    from mpa_fer_plugin.utils.tool_utils import check_image_config_order
    check_image_config_order('face.jpg', 'configs/mpa_fer_demo.py')
    check_image_config_order('photos/', 'mpa-fer_tiny-clip_demo')
    with pytest.raises(ValueError) as info:
        check_image_config_order('configs/mpa_fer_demo.py', 'face.jpg',
                                 'tools/infer.py IMAGE CONFIG CHECKPOINT')
    text = str(info.value)
    assert 'the image comes first' in text
    assert 'Usage: tools/infer.py IMAGE CONFIG CHECKPOINT' in text
    assert 'face.jpg configs/mpa_fer_demo.py CHECKPOINT' in text


def test_infer_tool_says_the_usage_for_a_swapped_order(tmp_path):
    """tools/infer.py CONFIG IMAGE CKPT: the usage, not a parser error."""
    import sys
    sys.path.insert(0, osp.join(ROOT, 'tests', 'test_tools'))
    try:
        from tool_loader import load_tool
    finally:
        sys.path.pop(0)
    infer = load_tool('infer.py')
    image = tmp_path / 'face.png'
    image.write_bytes(b'not read')
    with pytest.raises(ValueError, match='the image comes first'):
        infer.main([osp.join(ROOT, 'configs', 'mpa_fer_demo.py'),
                    str(image), 'epoch_10.pth'])


def test_a_config_argument_that_is_no_config(tmp_path):
    from mpa_fer_plugin.utils.tool_utils import check_config_file
    usage = 'tools/train.py CONFIG'
    config = tmp_path / 'cfg.py'
    config.write_text('x = 1\n')
    check_config_file(str(config), usage)
    with pytest.raises(ValueError, match=r"'face.jpg' is not a config file "
                       r'.*Usage: tools/train.py CONFIG'):
        check_config_file('face.jpg', usage)
    with pytest.raises(FileNotFoundError, match=r"config file '.*nope.py' "
                       'not found'):
        check_config_file(str(tmp_path / 'nope.py'), usage)
