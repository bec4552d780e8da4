"""The dataset base configs: structure, pipelines and the evaluators."""
import json
import os.path as osp
import textwrap

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub, MMLogger
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from mmengine.visualization import Visualizer
from mmpretrain.registry import DATASETS, TRANSFORMS

import mpa_fer_plugin.datasets  # noqa: F401

CFG_DIR = osp.join(osp.dirname(__file__), '..', '..', 'configs', '_base_',
                   'datasets')
CONFIGS = {'rafdb.py': ('RAFDB', 7), 'affectnet7.py': ('AffectNet', 7),
           'affectnet8.py': ('AffectNet', 8), 'ferplus.py': ('FERPlus', 8),
           'synthetic_fer.py': ('RAFDB', 7)}
CLIP_MEAN = np.array([0.48145466, 0.4578275, 0.40821073]) * 255
CLIP_STD = np.array([0.26862954, 0.26130258, 0.27577711]) * 255


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_base_config_structure(name):
    cfg = Config.fromfile(osp.join(CFG_DIR, name))
    dataset_type, num_classes = CONFIGS[name]
    assert cfg.dataset_type == dataset_type
    assert 'default_scope' not in cfg
    pre = cfg.data_preprocessor
    assert pre.type == 'ClsDataPreprocessor' and pre.to_rgb
    assert pre.num_classes == num_classes
    np.testing.assert_allclose(pre.mean, CLIP_MEAN)
    np.testing.assert_allclose(pre.std, CLIP_STD)
    assert [t.type for t in cfg.train_pipeline] == [
        'LoadFERImage', 'RandomResizedCrop', 'RandomFlip', 'RandomErasing',
        'PackInputs']
    assert cfg.train_pipeline[3].erase_prob == 0.25
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg[key]
        assert loader.batch_size == 32
        assert loader.persistent_workers == (loader.num_workers > 0)
        assert loader.sampler.type == 'DefaultSampler'
        assert loader.sampler.shuffle == (key == 'train_dataloader')
        assert loader.dataset.type == dataset_type
        if dataset_type == 'AffectNet':
            assert loader.dataset.num_classes == num_classes
    assert [m.type for m in cfg.val_evaluator] == [
        'Accuracy', 'SingleLabelMetric', 'SingleLabelMetric',
        'ConfusionMatrix']
    assert cfg.test_evaluator == cfg.val_evaluator


def test_pipelines_on_file_and_in_memory_images(tmp_path, fer_data):
    cfg = Config.fromfile(osp.join(CFG_DIR, 'ferplus.py'))
    train = [TRANSFORMS.build(t) for t in cfg.train_pipeline]
    test = [TRANSFORMS.build(t) for t in cfg.test_pipeline]
    path = fer_data.write_image(str(tmp_path / 'x.jpg'), size=100)
    gray = np.random.default_rng(0).integers(0, 256, (48, 48), np.uint8)
    for pipeline in (train, test):
        for info in (dict(img_path=path, gt_label=1),
                     dict(img=gray, gt_label=2)):
            for t in pipeline:
                info = t(info)
            assert info['inputs'].shape == (3, 224, 224)


@pytest.fixture
def clean_runtime():
    yield
    # as mmengine's RunnerTestCase.tearDown
    MMLogger._instance_dict.clear()
    Visualizer._instance_dict.clear()
    DefaultScope._instance_dict.clear()
    MessageHub._instance_dict.clear()


def test_synthetic_override_and_evaluators_in_runner(
        tmp_path, synthetic_root, clean_runtime):
    """A 32-px child of synthetic_fer.py validates with all four metrics;
    non-scalar results reach the text log but not scalars.json."""
    child = tmp_path / 'child.py'
    child.write_text(textwrap.dedent(f"""
        _base_ = [{osp.abspath(osp.join(CFG_DIR, 'synthetic_fer.py'))!r}]
        default_scope = 'mmpretrain'
        data_root = {synthetic_root!r}
        img_size = 32
        test_pipeline = [
            dict(type='LoadFERImage'),
            dict(type='ResizeEdge', scale=img_size, edge='short',
                 backend='pillow', interpolation='bicubic'),
            dict(type='CenterCrop', crop_size=img_size),
            dict(type='PackInputs'),
        ]
        val_dataloader = dict(batch_size=70, dataset=dict(
            data_root=data_root, pipeline=test_pipeline))
        model = dict(
            type='ImageClassifier',
            backbone=dict(type='ResNet_CIFAR', depth=18, num_stages=1,
                          strides=(1, ), dilations=(1, ), out_indices=(0, ),
                          base_channels=4, stem_channels=4),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=7, in_channels=4))
        train_dataloader = None  # validation only
        val_cfg = dict()
        test_cfg = dict()
        default_hooks = dict(logger=dict(type='LoggerHook', interval=1))
        """))
    cfg = Config.fromfile(str(child))
    cfg.work_dir = str(tmp_path / 'work')
    assert cfg.val_dataloader.dataset.pipeline[1].scale == 32
    runner = Runner.from_cfg(cfg)
    metrics = runner.val()
    assert set(metrics) == {
        'accuracy/top1', 'single-label/precision', 'single-label/recall',
        'single-label/f1-score', 'per_class/recall_classwise',
        'confusion_matrix/result'}
    assert len(metrics['per_class/recall_classwise']) == 7
    matrix = metrics['confusion_matrix/result']
    assert isinstance(matrix, torch.Tensor) and matrix.shape == (7, 7)
    assert int(matrix.sum()) == 280
    log_dir = osp.join(cfg.work_dir, runner.timestamp)
    text = open(osp.join(log_dir, f'{runner.timestamp}.log')).read()
    assert 'per_class/recall_classwise: [' in text
    assert 'confusion_matrix/result: \ntensor([[' in text
    with open(osp.join(log_dir, 'vis_data', 'scalars.json')) as f:
        logged = [json.loads(line) for line in f]
    assert 'single-label/recall' in logged[-1]
    assert not any('confusion_matrix/result' in r for r in logged)


def test_class_balanced_snippet_builds(tmp_path, fer_data):
    rows = [(f'0/n{i}.jpg', '0') for i in range(6)] + [('1/h.jpg', '1')]
    root = fer_data.affectnet(str(tmp_path), rows)
    cfg = Config.fromfile(osp.join(CFG_DIR, 'affectnet8.py'))
    dataset = dict(type='ClassBalancedDataset', oversample_thr=0.5,
                   dataset=dict(cfg.train_dataloader.dataset,
                                data_root=root))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        ds = DATASETS.build(dataset)
    assert len(ds) == 6 + 2  # happiness: ceil(sqrt(0.5 / (1/7))) = 2
    assert ds[6]['inputs'].shape == (3, 224, 224)
