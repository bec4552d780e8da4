"""Fixtures of the prototype tests: a 32 px RAF-DB-layout training set."""
import copy
import logging
from types import SimpleNamespace

import pytest

#: The test pipeline at the tiny CLIP's 32 px input size.
TEST_PIPELINE_32 = [
    dict(type='LoadFERImage'),
    dict(type='ResizeEdge', scale=32, edge='short', backend='pillow',
         interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=32),
    dict(type='PackInputs'),
]


@pytest.fixture
def pipeline32():
    """A fresh copy of :data:`TEST_PIPELINE_32`."""
    return copy.deepcopy(TEST_PIPELINE_32)


@pytest.fixture(scope='session')
def fer32_root(tmp_path_factory):
    """15 synthetic training faces (32 px, every FER7 class present)."""
    from mpa_fer_plugin.datasets.synthetic import generate_synthetic_fer
    root = str(tmp_path_factory.mktemp('fer32'))
    counts = generate_synthetic_fer(root, num_train=15, num_test=0, size=32,
                                    seed=0)
    assert min(counts['train']) >= 1, counts
    return root


@pytest.fixture
def fake_runner(fer32_root):
    """Factory of runner stand-ins with what PrototypeHook reads."""

    def make(model, work_dir, batch_size=4, **dataset_kwargs):
        dataset = dict(type='RAFDB', data_root=fer32_root, split='train',
                       pipeline=[dict(type='RandomFlip', prob=1.0)],
                       **dataset_kwargs)
        cfg = dict(
            train_dataloader=dict(batch_size=batch_size, num_workers=0,
                                  dataset=dataset),
            test_dataloader=dict(
                batch_size=8,
                dataset=dict(type='RAFDB', data_root=fer32_root,
                             split='train', pipeline=TEST_PIPELINE_32)))
        return SimpleNamespace(model=model, cfg=cfg, work_dir=str(work_dir))

    return make


@pytest.fixture
def log_records():
    """Messages of mmengine's current logger during the test."""
    from mmengine.logging import MMLogger
    records = []

    class Keep(logging.Handler):

        def emit(self, record):
            records.append(record.getMessage())

    logger = MMLogger.get_current_instance()
    handler = Keep(level=logging.DEBUG)
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)
