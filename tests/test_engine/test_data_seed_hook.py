"""Exact resume with random augmentation.

Uninterrupted training for 3 epochs vs. the same training killed in the
middle of epoch 3 (data workers on, global RNGs scrambled afterwards, as a
new process would have them) and resumed: the prompts must be equal bit for
bit. The demo pipeline (RandomResizedCrop + RandomFlip) is used.
"""
import copy
import random

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

import mpa_fer_plugin  # noqa: F401


class Killed(Exception):
    pass


class KillAt(Hook):
    priority = 'LOWEST'

    def __init__(self, epoch, batch):
        self.epoch, self.batch = epoch, batch

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if runner.epoch == self.epoch and batch_idx == self.batch:
            raise Killed()


def _state(path):
    return torch.load(path, map_location='cpu',
                      weights_only=False)['state_dict']


def test_kill_and_resume_equals_uninterrupted(small_world, tmp_path):
    base = Config.fromfile(small_world['config'])  # read once
    base.merge_from_dict({
        'model.head.descriptions': None, 'train_cfg.max_epochs': 3,
        'val_cfg': None, 'val_dataloader': None, 'val_evaluator': None,
        'default_hooks.checkpoint.save_best': None,
        'default_hooks.logger.interval': 100})
    pipeline = [t['type'] for t in base.train_dataloader.dataset.pipeline]
    assert 'RandomResizedCrop' in pipeline and 'RandomFlip' in pipeline

    def cfg(work, resume=False, workers=0):
        c = copy.deepcopy(base)
        c.work_dir, c.resume = str(tmp_path / work), resume
        c.train_dataloader.num_workers = workers
        c.train_dataloader.persistent_workers = workers > 0
        return c

    Runner.from_cfg(cfg('full')).train()
    runner = Runner.from_cfg(cfg('killed', workers=2))
    runner.register_hook(KillAt(epoch=2, batch=1))
    with pytest.raises(Killed):
        runner.train()
    np.random.seed(12345)
    random.seed(6789)
    torch.manual_seed(4242)
    resumed = Runner.from_cfg(cfg('killed', resume=True, workers=2))
    resumed.train()
    assert resumed.epoch == 3
    full = _state(tmp_path / 'full' / 'epoch_3.pth')
    again = _state(tmp_path / 'killed' / 'epoch_3.pth')
    assert 'head.prompt_learner.ctx' in full
    for key in full:
        assert torch.equal(full[key], again[key]), key


def test_plugin_hooks_can_be_turned_off_explicitly(small_world, tmp_path):
    base = Config.fromfile(small_world['config'])
    base.merge_from_dict({'model.head.descriptions': None,
                          'default_hooks.data_seed': None,
                          'default_hooks.invalid_loss': None})
    base.work_dir = str(tmp_path / 'work')
    names = [type(h).__name__ for h in Runner.from_cfg(base).hooks]
    assert 'MPADataSeedHook' not in names
    assert 'MPAInvalidLossHook' not in names
    assert 'MPAClassNameCheckHook' in names  # this one always
