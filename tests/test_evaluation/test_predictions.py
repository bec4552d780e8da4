"""Reading predictions: result files and the split selection."""
import pickle

import numpy as np
import pytest
import torch
from mmengine.config import Config

from mpa_fer_plugin.evaluation.predictions import (
    load_result_file,
    predictions_from_samples,
    split_config,
)


def _samples():
    return [dict(pred_score=torch.tensor([0.7, 0.2, 0.1]),
                 gt_label=torch.tensor([0]), img_path='a/test_1.jpg'),
            dict(pred_score=torch.tensor([0.1, 0.3, 0.6]),
                 gt_label=torch.tensor([1]), sample_idx=1)]


def test_predictions_from_samples():
    preds = predictions_from_samples(_samples())
    np.testing.assert_allclose(preds['scores'][1], [0.1, 0.3, 0.6],
                               rtol=1e-6)
    assert preds['labels'].tolist() == [0, 1]
    assert preds['names'] == ['a/test_1.jpg', '#1']
    with pytest.raises(ValueError, match='no pred_score'):
        predictions_from_samples([dict(gt_label=torch.tensor([0]))])
    with pytest.raises(ValueError, match='empty'):
        predictions_from_samples([])


def test_load_result_file(tmp_path):
    path = tmp_path / 'preds.pkl'
    path.write_bytes(pickle.dumps(_samples()))
    assert load_result_file(str(path))['labels'].tolist() == [0, 1]
    bad = tmp_path / 'metrics.pkl'
    bad.write_bytes(pickle.dumps({'accuracy/top1': 50.0}))
    with pytest.raises(ValueError, match='list of predictions'):
        load_result_file(str(bad))
    with pytest.raises(FileNotFoundError):
        load_result_file(str(tmp_path / 'none.pkl'))


def test_split_config():
    cfg = Config(dict(
        train_dataloader=dict(dataset=dict(type='RAFDB', split='train',
                                           pipeline=[dict(type='X')])),
        val_dataloader=dict(dataset=dict(type='RAFDB', split='val')),
        test_dataloader=dict(dataset=dict(
            type='RAFDB', split='test', pipeline=[dict(type='T')]))))
    assert split_config(cfg, 'val').test_dataloader.dataset.split == 'val'
    train = split_config(cfg, 'train').test_dataloader.dataset
    assert train.split == 'train' and train.pipeline == [dict(type='T')]
    assert split_config(cfg, 'test').test_dataloader.dataset.split == 'test'
    with pytest.raises(ValueError, match='split='):
        split_config(cfg, 'dev')
