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
