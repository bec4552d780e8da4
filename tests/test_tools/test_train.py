"""tools/train.py: mmpretrain's flags merged into the config."""
import os.path as osp

import pytest
from mmengine.config import Config
from tool_loader import ROOT, load_tool

train = load_tool('train.py')
DEMO = osp.join(ROOT, 'configs', 'mpa_fer_demo.py')


def _merged(argv):
    args = train.parse_args(argv)
    return train.merge_args(Config.fromfile(args.config), args)


def test_defaults_and_work_dir():
    cfg = _merged([DEMO])
    assert cfg.work_dir == osp.join('./work_dirs', 'mpa_fer_demo')
    assert cfg.launcher == 'none'
    assert cfg.resume is False
    # num_workers=0: persistent workers stay off, collate_fn is filled in.
    assert cfg.train_dataloader.persistent_workers is False
    assert cfg.train_dataloader.collate_fn == dict(type='default_collate')
    assert _merged([DEMO, '--work-dir', '/tmp/x']).work_dir == '/tmp/x'


def test_resume_amp_no_validate_and_cfg_options():
    cfg = _merged([DEMO, '--resume'])
    assert cfg.resume is True and cfg.load_from is None
    cfg = _merged([DEMO, '--resume', 'ckpt.pth'])
    assert cfg.resume is True and cfg.load_from == 'ckpt.pth'
    cfg = _merged([DEMO, '--amp'])
    assert cfg.optim_wrapper.type == 'MPAAmpOptimWrapper'
    assert cfg.optim_wrapper.loss_scale == 'dynamic'
    cfg = _merged([DEMO, '--no-validate'])
    assert cfg.val_dataloader is None and cfg.val_cfg is None
    cfg = _merged([DEMO, '--cfg-options', 'train_cfg.max_epochs=1',
                   'train_dataloader.num_workers=2'])
    assert cfg.train_cfg.max_epochs == 1
    cfg = _merged([DEMO, '--no-pin-memory', '--no-persistent-workers'])
    assert cfg.train_dataloader.pin_memory is False


def test_auto_scale_lr_and_launcher_flags(monkeypatch):
    cfg = _merged([DEMO, '--auto-scale-lr'])
    assert cfg.auto_scale_lr.enable is True
    assert cfg.auto_scale_lr.base_batch_size == 32
    monkeypatch.delenv('LOCAL_RANK', raising=False)
    args = train.parse_args([DEMO, '--launcher', 'pytorch',
                             '--local-rank', '3'])
    assert args.launcher == 'pytorch' and args.local_rank == 3
    args = train.parse_args([DEMO, '--local_rank', '1'])
    assert args.local_rank == 1
    with pytest.raises(SystemExit):
        train.parse_args([DEMO, '--launcher', 'torchrun'])


def test_auto_scale_lr_without_base_is_an_error(tmp_path):
    cfg_file = tmp_path / 'no_scale.py'
    cfg_file.write_text(f'_base_ = [{DEMO!r}]\nauto_scale_lr = None\n')
    with pytest.raises(ValueError, match='auto_scale_lr'):
        _merged([str(cfg_file), '--auto-scale-lr'])


def test_flexible_runner_is_honoured(small_world, tmp_path):
    """runner_type=FlexibleRunner trains through RUNNERS.build."""
    work = tmp_path / 'work'
    train.main([small_world['config'], '--work-dir', str(work),
                '--cfg-options', 'runner_type=FlexibleRunner',
                'train_cfg.max_epochs=1', 'train_cfg.val_interval=5'])
    assert (work / 'epoch_1.pth').is_file()
    log = next(work.glob('*/*.log')).read_text()
    assert 'FlexibleRunner' in log or 'strategy' in log.lower()


def test_low_memory_switches_checkpointing_on(tmp_path):
    assert not _merged([DEMO]).model.backbone.get('with_cp', False)
    cfg = _merged([DEMO, '--low-memory'])
    assert cfg.model.backbone.with_cp is True
    plain = tmp_path / 'plain.py'
    plain.write_text("model = dict(type='ImageClassifier', "
                     "backbone=dict(type='ResNet', depth=18))\n")
    with pytest.raises(ValueError, match='MPAPromptedViT.*ResNet'):
        _merged([str(plain), '--low-memory'])


def test_one_epoch_of_a_warm_up_and_cosine_schedule(small_world, tmp_path,
                                                    monkeypatch):
    """--cfg-options train_cfg.max_epochs=1 on the demo's schedule trains.

    mmengine gives the cosine (begin=1) the end of training as its end and
    refused it ("end should be larger than begin"); the cosine that would
    start after the last epoch is left out, with a log line saying so.
    """
    cfg_file = tmp_path / 'warm_up_cosine.py'
    cfg_file.write_text(
        f"_base_ = [{small_world['config']!r}]\n"
        'param_scheduler = [\n'
        "    dict(type='LinearLR', start_factor=1e-2, by_epoch=True, "
        'begin=0, end=1, convert_to_iter_based=True),\n'
        "    dict(type='CosineAnnealingLR', by_epoch=True, begin=1, "
        'T_max=9, eta_min=0.0)]\n')
    import mmengine.logging
    logged = []
    monkeypatch.setattr(mmengine.logging, 'print_log',
                        lambda msg, **kw: logged.append(msg))
    work = tmp_path / 'work'
    train.main([str(cfg_file), '--work-dir', str(work), '--cfg-options',
                'train_cfg.max_epochs=1', 'train_cfg.val_interval=5'])
    assert (work / 'epoch_1.pth').is_file()
    assert [m for m in logged if 'schedule fitted' in str(m)] == [
        'schedule fitted to a shorter training: param_scheduler[1] '
        '(CosineAnnealingLR) begins at 1, where training ends '
        '(train_cfg.max_epochs=1): left out']
