"""ECE, temperature scaling, the stored temperature and where it applies."""
import copy
import os
import os.path as osp
import sys

import cv2
import numpy as np
import pytest
import torch

sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.abspath(
    __file__))), 'test_apis'))
from mpa_world import get_world  # noqa: E402

from mpa_fer_plugin.evaluation.calibration import (  # noqa: E402
    ECEMetric,
    apply_calibration,
    calibration_record,
    expected_calibration_error,
    fit_temperature,
    nll,
    reliability_bins,
    softmax,
    store_calibration,
)

# Confidences 0.95, 0.75, 0.70, 0.55 fall in bins 4, 3, 3, 2 of 5; the
# second sample is wrong. Bin 4: |1 - 0.95| = 0.05 (1 sample), bin 3:
# |0.5 - 0.725| = 0.225 (2 samples), bin 2: |1 - 0.55| = 0.45 (1 sample):
# ECE = (0.05 + 2 * 0.225 + 0.45) / 4 = 0.2375.
HAND_PROBS = np.array([[0.95, 0.05], [0.75, 0.25], [0.30, 0.70],
                       [0.55, 0.45]])
HAND_LABELS = np.array([0, 1, 1, 0])
HAND_ECE = 0.2375


def test_ece_by_hand():
    assert expected_calibration_error(HAND_PROBS, HAND_LABELS,
                                      num_bins=5) == pytest.approx(HAND_ECE)
    bins = reliability_bins(HAND_PROBS, HAND_LABELS, num_bins=5)
    assert bins['count'].tolist() == [0, 0, 1, 2, 1]
    assert bins['accuracy'][3] == pytest.approx(0.5)
    assert bins['confidence'][3] == pytest.approx(0.725)


def test_ece_metric_equals_hand_value():
    metric = ECEMetric(num_bins=5)
    samples = [dict(pred_score=torch.tensor(p, dtype=torch.float32),
                    gt_label=torch.tensor([y]))
               for p, y in zip(HAND_PROBS, HAND_LABELS)]
    metric.process(None, samples[:2])
    metric.process(None, samples[2:])
    result = metric.evaluate(len(samples))
    assert result['calibration/ece'] == pytest.approx(100 * HAND_ECE,
                                                      abs=1e-4)
    expected_nll = -np.mean(np.log(HAND_PROBS[np.arange(4), HAND_LABELS]))
    assert result['calibration/nll'] == pytest.approx(expected_nll, rel=1e-5)


def test_ece_metric_is_registered():
    from mmpretrain.registry import METRICS
    metric = METRICS.build(dict(type='ECEMetric', num_bins=10))
    assert isinstance(metric, ECEMetric) and metric.num_bins == 10
    with pytest.raises(ValueError, match='num_bins'):
        ECEMetric(num_bins=0)


def test_ece_rejects_bad_input():
    with pytest.raises(ValueError, match='labels must be in'):
        expected_calibration_error(HAND_PROBS, np.array([0, 1, 2, 0]))
    with pytest.raises(ValueError, match='shapes'):
        expected_calibration_error(HAND_PROBS, HAND_LABELS[:3])


@pytest.mark.parametrize('true_t', [0.5, 2.5])
def test_fit_recovers_known_temperature(true_t):
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, size=(20000, 7))
    p = softmax(logits, true_t)
    labels = np.array([rng.choice(7, p=row) for row in p])
    t = fit_temperature(logits, labels)
    assert t == pytest.approx(true_t, rel=0.05)
    # the fitted T is the NLL minimum
    assert nll(logits, labels, t) <= nll(logits, labels, t * 1.1)
    assert nll(logits, labels, t) <= nll(logits, labels, t / 1.1)
    record = calibration_record(logits, labels, 'synthetic')
    assert record['ece_after'] < record['ece_before']
    assert record['temperature'] == pytest.approx(t)


def test_fit_is_shift_invariant_and_bounded():
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 2, size=(500, 4))
    labels = logits.argmax(1)  # always right: wants T -> 0
    assert fit_temperature(logits, labels) == 0.01
    noisy = rng.integers(0, 4, 500)
    t1 = fit_temperature(logits, noisy)
    t2 = fit_temperature(np.log(softmax(logits)), noisy)
    assert t1 == pytest.approx(t2, rel=1e-6)
    with pytest.raises(ValueError, match='NaN'):
        fit_temperature(np.full((2, 3), np.nan), np.array([0, 1]))


def _checkpoint(tmp_path, world):
    dst = tmp_path / 'ckpt.pth'
    dst.write_bytes(open(world['ckpt'], 'rb').read())
    return str(dst)


def test_store_and_apply(tmp_path, tiny_clip_spec, tmp_path_factory):
    from mpa_fer_plugin.apis import init_mpa_model
    from mpa_fer_plugin.utils.safe_checkpoint import safe_torch_load
    world = get_world(tmp_path_factory, tiny_clip_spec)
    ckpt = _checkpoint(tmp_path, world)
    before = safe_torch_load(ckpt, map_location='cpu')
    record = dict(temperature=2.0, fitted_on='unit test', ece_before=9.0,
                  ece_after=3.0)
    store_calibration(ckpt, record)
    after = safe_torch_load(ckpt, map_location='cpu')
    assert after['meta']['calibration'] == record
    assert after['meta']['dataset_meta'] == before['meta']['dataset_meta']
    for key, value in before['state_dict'].items():
        assert torch.equal(after['state_dict'][key], value)
    model = init_mpa_model(world['config'], ckpt)
    assert model.head.temperature == 2.0
    # a checkpoint without calibration resets the temperature to 1
    assert apply_calibration(model, before) == 1.0
    assert model.head.temperature == 1.0
    bad = copy.deepcopy(after)
    bad['meta']['calibration']['temperature'] = -1
    with pytest.raises(ValueError, match='finite number > 0'):
        apply_calibration(model, bad, 'bad.pth')
    with pytest.raises(ValueError, match='finite number > 0'):
        store_calibration(ckpt, dict(temperature=0.0))


def test_temperature_changes_probabilities_not_argmax(
        tmp_path, tiny_clip_spec, tmp_path_factory):
    from mpa_fer_plugin.apis.export import MPAFERExportModule
    from mpa_fer_plugin.apis.face import FERPipeline
    world = get_world(tmp_path_factory, tiny_clip_spec)
    ckpt = _checkpoint(tmp_path, world)
    images = sorted(osp.join(world['image_dir'], f)
                    for f in os.listdir(world['image_dir'])
                    if f.startswith('test_'))[:4]
    raw = FERPipeline(world['config'], ckpt, detector='haar')
    store_calibration(ckpt, dict(temperature=3.0, fitted_on='unit test'))
    cal = FERPipeline(world['config'], ckpt, detector='haar')
    assert cal.model.head.temperature == 3.0
    for img in images:
        a = raw.classify([cv2.imread(img)])[0]
        b = cal.classify([cv2.imread(img)])[0]
        assert a['pred_class'] == b['pred_class']
        pa = np.array([a['scores'][c] for c in raw.classes])
        pb = np.array([b['scores'][c] for c in cal.classes])
        # softmax(z / 3) from softmax(z): log-probabilities scale by 1/3
        expected = softmax(np.log(pa), 3.0)
        np.testing.assert_allclose(pb, expected, atol=2e-5)
        assert b['pred_score'] < a['pred_score']
    # the ONNX wrapper's scores use the same temperature
    wrapper = MPAFERExportModule(cal.model, input_format='normalized')
    x = torch.randn(2, 3, 32, 32)
    logits, scores = wrapper(x)
    torch.testing.assert_close(scores, (logits / 3.0).softmax(-1))


def test_refuses_the_test_split(tiny_clip_spec, tmp_path_factory):
    from mmengine.config import Config

    from mpa_fer_plugin.evaluation.predictions import check_held_out
    world = get_world(tmp_path_factory, tiny_clip_spec)
    cfg = Config.fromfile(world['config'])
    with pytest.raises(ValueError, match='on the test split'):
        check_held_out(cfg, 'test')
    # the world's val_dataloader is its test set
    with pytest.raises(ValueError, match=r'7 of its 7 images are also in '
                       'the test split'):
        check_held_out(cfg, 'val')
    cfg.val_dataloader.dataset = dict(
        type='RAFDB', data_root=world['data_root'], split='train')
    assert check_held_out(cfg, 'val') == 7
