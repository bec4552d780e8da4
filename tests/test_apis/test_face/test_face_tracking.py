"""apis/face/tracking.py: IoU, track ids, EMA smoothing, label flips."""
import numpy as np
import pytest

from mpa_fer_plugin.apis.face import (
    EMASmoother,
    IoUTracker,
    box_iou,
    count_flips,
)


def test_box_iou():
    a = np.array([[0, 0, 10, 10]])
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]])
    np.testing.assert_allclose(box_iou(a, b), [[1, 50 / 150, 0]])
    assert box_iou(a, np.zeros((0, 4))).shape == (1, 0)


def test_tracker_keeps_ids_and_ends_tracks():
    tr = IoUTracker(iou_threshold=0.3, max_missed=1)
    assert tr.update([[0, 0, 10, 10], [50, 50, 60, 60]]) == [1, 2]
    # Both move a little, listed in the other order: ids follow the boxes.
    assert tr.update([[52, 51, 62, 61], [1, 0, 11, 10]]) == [2, 1]
    assert tr.update([[1, 1, 11, 11]]) == [1]           # 2 missed once
    assert tr.update([[2, 1, 12, 11], [53, 52, 63, 62]]) == [1, 2]
    tr.update([[2, 1, 12, 11]])
    tr.update([[2, 1, 12, 11]])                          # 2 missed twice
    assert tr.update([[53, 52, 63, 62]]) == [3]          # a new track
    with pytest.raises(ValueError, match='iou_threshold'):
        IoUTracker(0)


def test_ema_smoothing_reduces_flips():
    ema = EMASmoother(alpha=0.5)
    np.testing.assert_allclose(ema.update(1, [1, 0]), [1, 0])
    np.testing.assert_allclose(ema.update(1, [0, 1]), [0.5, 0.5])
    np.testing.assert_allclose(ema.update(2, [0, 1]), [0, 1])  # own state
    ema.drop([2])
    assert list(ema.state) == [2]
    np.testing.assert_allclose(EMASmoother(1.0).update(0, [0.2, 0.8]),
                               [0.2, 0.8])
    # Class 0 most of the time, with isolated one-frame spikes of class 1:
    # the per-frame argmax flips at every spike, the smoothed one never.
    probs = np.tile([0.7, 0.3], (60, 1))
    spikes = np.arange(3, 60, 5)  # 12 spikes
    probs[spikes] = [0.3, 0.7]
    raw = probs.argmax(1)
    smoother = EMASmoother(0.3)
    smooth = [int(np.argmax(smoother.update(0, p))) for p in probs]
    assert count_flips(list(raw)) == 24 and count_flips(smooth) == 0
    assert count_flips([1, 1, 2, 2, 1]) == 2 and count_flips([]) == 0
    with pytest.raises(ValueError, match='alpha'):
        EMASmoother(0)
