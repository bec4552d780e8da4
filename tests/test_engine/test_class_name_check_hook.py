"""Tests of MPAClassNameCheckHook (head class names vs dataset classes)."""
import logging
from types import SimpleNamespace

import pytest
import torch.nn as nn
from mmpretrain.registry import HOOKS

import mpa_fer_plugin  # noqa: F401
from mpa_fer_plugin.datasets.categories import FER7_CLASSES, RAFDB_NATIVE


class FakeHead(nn.Module):

    def __init__(self, classnames):
        super().__init__()
        self.classnames = tuple(classnames)


class FakeModel(nn.Module):

    def __init__(self, classnames):
        super().__init__()
        self.backbone = nn.Identity()
        self.head = FakeHead(classnames)


def make_runner(head_names, classes, logger=None):
    def loader(cls):
        metainfo = {} if cls is None else {'classes': cls}
        return SimpleNamespace(dataset=SimpleNamespace(metainfo=metainfo))

    return SimpleNamespace(
        model=FakeModel(head_names),
        train_dataloader=loader(classes),
        val_dataloader=loader(classes),
        test_dataloader=loader(classes),
        logger=logger or logging.getLogger('test_class_name_check_hook'))


@pytest.mark.parametrize('stage', ['train', 'val', 'test'])
def test_matching_names_pass(stage):
    hook = HOOKS.build(dict(type='MPAClassNameCheckHook'))
    getattr(hook, f'before_{stage}')(make_runner(FER7_CLASSES,
                                                 list(FER7_CLASSES)))


@pytest.mark.parametrize('stage', ['train', 'val', 'test'])
def test_same_count_other_order_fails(stage):
    """RAF-DB's native order has the same 7 names in another order."""
    hook = HOOKS.build(dict(type='MPAClassNameCheckHook'))
    runner = make_runner(FER7_CLASSES, RAFDB_NATIVE)
    with pytest.raises(ValueError) as info:
        getattr(hook, f'before_{stage}')(runner)
    msg = str(info.value)
    assert str(tuple(FER7_CLASSES)) in msg and str(RAFDB_NATIVE) in msg
    assert f'the {stage} dataset' in msg


def test_case_handling():
    lower = [c.lower() for c in FER7_CLASSES]
    strict = HOOKS.build(dict(type='MPAClassNameCheckHook'))
    with pytest.raises(ValueError, match='differ'):
        strict.before_train(make_runner(FER7_CLASSES, lower))
    relaxed = HOOKS.build(dict(type='MPAClassNameCheckHook',
                               strict_case=False))
    relaxed.before_train(make_runner(FER7_CLASSES, lower))


def test_wrapped_model_and_missing_classes(caplog):
    hook = HOOKS.build(dict(type='MPAClassNameCheckHook'))
    runner = make_runner(FER7_CLASSES, FER7_CLASSES[:6])
    runner.model = nn.ModuleDict(dict(module=runner.model))  # a wrapper
    with pytest.raises(ValueError, match='differ'):
        hook.before_val(runner)
    runner = make_runner(FER7_CLASSES, None)
    with caplog.at_level(logging.WARNING):
        hook.before_test(runner)
    assert "no metainfo['classes']" in caplog.text


def test_checkpoint_classes_checked_before_test():
    hook = HOOKS.build(dict(type='MPAClassNameCheckHook'))
    swapped = ('Disgust', 'Anger') + tuple(FER7_CLASSES[2:])
    hook.after_load_checkpoint(None, {'meta': {
        'dataset_meta': {'classes': swapped}, 'experiment_name': 'x'}})
    with pytest.raises(ValueError, match='was trained on classes'):
        hook.before_test(make_runner(FER7_CLASSES, FER7_CLASSES))
    hook.after_load_checkpoint(None, {'meta': {
        'dataset_meta': {'classes': tuple(FER7_CLASSES)}}})
    hook.before_test(make_runner(FER7_CLASSES, FER7_CLASSES))


# ----------------------------------------- composition
SWAPPED = "('Disgust', 'Anger', 'Fear', 'Sadness', 'Happiness', " \
    "'Surprise', 'Neutral')"


def _child_config(small_world, tmp_path, body):
    path = tmp_path / 'child.py'
    path.write_text(f'_base_ = [{small_world["config"]!r}]\n'
                    'model = dict(head=dict(descriptions=None))\n' + body)
    return str(path)


def test_child_config_replacing_custom_hooks_still_checked(small_world,
                                                           tmp_path):
    """An EMAHook-only custom_hooks list and swapped head classes."""
    from mmengine.config import Config
    from mmengine.runner import Runner

    from mpa_fer_plugin.engine.hooks import (
        MPAClassNameCheckHook,
        MPADataSeedHook,
        MPAInvalidLossHook,
    )
    cfg = Config.fromfile(_child_config(
        small_world, tmp_path,
        "custom_hooks = [dict(type='EMAHook')]\n"
        f'model = dict(head=dict(classnames={SWAPPED}))\n'
        "default_hooks = dict(_delete_=True, checkpoint=dict("
        "type='CheckpointHook', interval=1))\n"))
    cfg.work_dir = str(tmp_path / 'work')
    runner = Runner.from_cfg(cfg)
    kinds = [type(h) for h in runner.hooks]
    for cls in (MPAClassNameCheckHook, MPAInvalidLossHook, MPADataSeedHook):
        assert kinds.count(cls) == 1, kinds
    with pytest.raises(ValueError, match='differ from the train dataset'):
        runner.train()


def test_test_tool_refuses_checkpoint_with_other_class_order(small_world,
                                                             tmp_path):
    import importlib.util
    import os.path as osp

    import torch
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    spec = importlib.util.spec_from_file_location(
        'mpa_test_tool', osp.join(root, 'tools', 'test.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    ckpt = str(tmp_path / 'swapped.pth')
    swapped = ('Disgust', 'Anger') + tuple(FER7_CLASSES[2:])
    torch.save({'state_dict': {}, 'meta': {
        'dataset_meta': {'classes': swapped},
        'experiment_name': 'trained_swapped'}}, ckpt)
    cfg = _child_config(small_world, tmp_path, '')
    with pytest.raises(ValueError, match='trained_swapped.*was trained on'):
        tool.main([cfg, ckpt, '--work-dir', str(tmp_path / 'test')])
