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
