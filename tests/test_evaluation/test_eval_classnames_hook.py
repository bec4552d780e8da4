"""EvalClassNamesHook: scoring the test set's classes by name."""
import json
from types import SimpleNamespace

import pytest
import torch
from mmengine.logging import MessageHub
from mmpretrain.registry import MODELS

from mpa_fer_plugin.apis.open_vocab import score_classnames
from mpa_fer_plugin.datasets.categories import FER7_CLASSES, FER8_CLASSES
from mpa_fer_plugin.engine.hooks import MPAClassNameCheckHook
from mpa_fer_plugin.evaluation import EvalClassNamesHook

BASE = ('Sadness', 'Happiness', 'Surprise', 'Neutral')


def _runner(model, classes, tmp_path, dropped=None):
    meta = dict(classes=classes)
    if dropped:
        meta['dropped_classes'] = dropped
    check = MPAClassNameCheckHook()
    check._ckpt_classes = tuple(model.head.classnames)  # "loaded" ckpt
    check._ckpt_name = 'unit'
    loader = SimpleNamespace(dataset=SimpleNamespace(metainfo=meta))
    return SimpleNamespace(
        model=model, hooks=[check], test_dataloader=loader,
        val_dataloader=loader, work_dir=str(tmp_path),
        message_hub=MessageHub.get_instance('eval_classnames_test'),
        logger=SimpleNamespace(warning=print)), check


def test_novel_names_are_scored_and_restored(tiny_mpa_cfg, tmp_path):
    model = MODELS.build(tiny_mpa_cfg(head=dict(classnames=BASE))).eval()
    runner, check = _runner(model, FER7_CLASSES, tmp_path)
    images = torch.randn(2, 3, 32, 32)
    hook = EvalClassNamesHook()
    hook.before_test(runner)
    check.before_test(runner)  # checkpoint and test-set checks pass
    assert model.head.classnames == FER7_CLASSES
    with torch.no_grad():
        logits = model(images, mode='tensor')
    assert logits.shape == (2, 7)
    expected = score_classnames(model, images, FER7_CLASSES)
    torch.testing.assert_close(logits, expected, rtol=1e-4, atol=1e-4)
    report = json.loads((tmp_path / 'eval_classes.json').read_text())
    assert report['unseen_test_classes'] == ['Anger', 'Disgust', 'Fear']
    assert report['train_only_classes'] == []
    hook.after_test(runner)
    assert model.head.classnames == BASE
    assert model.head.prompt_learner.classnames == BASE
    assert check._ckpt_classes == BASE
    with torch.no_grad():
        assert model(images, mode='tensor').shape == (2, 4)


def test_train_only_classes_and_dropped_images_are_reported(
        tiny_mpa_cfg, tmp_path):
    model = MODELS.build(tiny_mpa_cfg(head=dict(
        classnames=FER8_CLASSES, descriptions=None))).eval()
    runner, _ = _runner(model, FER7_CLASSES, tmp_path,
                        dropped={'Contempt': 3})
    EvalClassNamesHook().before_test(runner)
    report = runner.message_hub.get_info('eval_classes')
    assert report['train_only_classes'] == ['Contempt']
    assert report['dropped_test_images'] == {'Contempt': 3}
    assert model.head.classnames == FER7_CLASSES


def test_checkpoint_check_still_runs_first(tiny_mpa_cfg, tmp_path):
    model = MODELS.build(tiny_mpa_cfg(head=dict(classnames=BASE))).eval()
    runner, check = _runner(model, FER7_CLASSES, tmp_path)
    check._ckpt_classes = FER7_CLASSES  # a checkpoint of another run
    with pytest.raises(ValueError, match='was trained on classes'):
        EvalClassNamesHook().before_test(runner)


def test_class_specific_context_is_refused(tiny_mpa_cfg, tmp_path):
    model = MODELS.build(tiny_mpa_cfg(head=dict(
        classnames=BASE, class_specific_ctx=True))).eval()
    runner, _ = _runner(model, FER7_CLASSES, tmp_path)
    with pytest.raises(ValueError, match='class-specific context'):
        EvalClassNamesHook().before_test(runner)
