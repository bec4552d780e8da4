"""Tests of MPATrainableOptimWrapperConstructor (prompts only, quiet)."""
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.optim import DefaultOptimWrapperConstructor, build_optim_wrapper
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS

import mpa_fer_plugin  # noqa: F401

SCHEDULE = osp.join(osp.dirname(__file__), '..', '..', 'configs', '_base_',
                    'schedules', 'sgd_cosine_120e.py')
TRAINABLE = {'backbone.prompts', 'head.prompt_learner.ctx'}


@pytest.fixture
def model(tiny_mpa_cfg):
    return MODELS.build(tiny_mpa_cfg())


def optimized(optim_wrapper):
    return {id(p) for g in optim_wrapper.optimizer.param_groups
            for p in g['params']}


def test_schedule_config_passes_only_prompts(model, log_records):
    cfg = Config.fromfile(SCHEDULE)
    assert cfg.optim_wrapper.constructor == \
        'MPATrainableOptimWrapperConstructor'
    init_default_scope('mmpretrain')
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    names = {n for n, p in model.named_parameters()
             if id(p) in optimized(wrapper)}
    assert names == TRAINABLE
    assert {n for n, p in model.named_parameters() if p.requires_grad} == \
        TRAINABLE
    assert wrapper.optimizer.defaults['weight_decay'] == 5e-4
    assert sum('left out' in m for m in log_records) == 1


def test_paramwise_cfg_without_warning_flood(model, log_records):
    cfg = dict(optimizer=dict(type='SGD', lr=0.1, weight_decay=1e-4))
    paramwise = dict(custom_keys={'prompt_learner': dict(lr_mult=0.5)})
    default = DefaultOptimWrapperConstructor(cfg, paramwise)(model)
    flood = sum('requires_grad=False' in m for m in log_records)
    assert flood > 50  # what the default constructor does
    ours = OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(type='MPATrainableOptimWrapperConstructor',
             optim_wrapper_cfg=cfg, paramwise_cfg=paramwise))(model)
    assert sum('requires_grad=False' in m for m in log_records) == flood
    assert optimized(ours) == optimized(default)
    lrs = {n: g['lr'] for g in ours.optimizer.param_groups
           for n, p in model.named_parameters() if p is g['params'][0]}
    assert lrs == {'backbone.prompts': 0.1, 'head.prompt_learner.ctx': 0.05}


def test_nothing_to_train():
    frozen = nn.Linear(2, 2).requires_grad_(False)
    ctor = OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(type='MPATrainableOptimWrapperConstructor',
             optim_wrapper_cfg=dict(optimizer=dict(type='SGD', lr=0.1))))
    with pytest.raises(ValueError, match='nothing to train'):
        ctor(frozen)
    trainable = nn.Linear(2, 2)
    wrapper = ctor(trainable)
    assert optimized(wrapper) == {id(p) for p in trainable.parameters()}
    assert isinstance(wrapper.optimizer, torch.optim.SGD)
