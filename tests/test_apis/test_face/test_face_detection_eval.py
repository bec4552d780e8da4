"""apis/face/detection_eval.py: detection-only counts on drawn scenes."""
import numpy as np
import pytest

from mpa_fer_plugin.apis.face import FaceDetections
from mpa_fer_plugin.apis.face.detection_eval import (
    DETECTION_HEADER,
    detection_row,
    evaluate_detector_scenes,
)
from mpa_fer_plugin.apis.face.evaluate import face_scene, world_face_specs


class Oracle:
    """Returns given boxes scene after scene (shifted by ``shift`` px)."""

    def __init__(self, boxes, shift=0.0, extra=None):
        self.boxes, self.shift, self.extra, self.calls = boxes, shift, \
            extra, 0

    def detect(self, image):
        b = np.asarray(self.boxes[self.calls], np.float32) + self.shift
        if self.extra is not None and self.calls == 0:
            b = np.concatenate([b, np.float32(self.extra)[None]])
        self.calls += 1
        return FaceDetections(b, np.full((len(b), 5, 2), np.nan, np.float32),
                              np.ones(len(b), np.float32))


def _truth(specs, num_scenes, per_scene, seed):
    rng = np.random.default_rng([seed, 14])  # the shuffle of the module
    used = [specs[i] for i in rng.permutation(len(specs))]
    return [face_scene(used[s * per_scene:(s + 1) * per_scene],
                       np.random.default_rng([seed, 14, s]))[1]
            for s in range(num_scenes)], used


def test_counts_found_false_positives_and_classes():
    specs = world_face_specs('train', limit=12)
    truth, used = _truth(specs, 2, 3, seed=7)
    perfect = evaluate_detector_scenes(Oracle(truth, extra=[0, 0, 20, 20]),
                                       specs, 2, 3, seed=7)
    assert perfect['found'] == 6 and perfect['faces'] == 6
    assert perfect['recall'] == 1 and perfect['false_pos'] == 1
    assert perfect['median_best_iou'] == pytest.approx(1)
    per_class = perfect['found_by_class']
    assert sum(v[1] for v in per_class.values()) == 6
    for face in used[:6]:  # the faces drawn are the shuffle's first six
        assert per_class[face['expression']][0] >= 1
    # boxes shifted by a third of a face: found by no IoU >= 0.5, but near
    shifted = evaluate_detector_scenes(Oracle(truth, shift=25.0), specs, 2,
                                       3, seed=7)
    assert shifted['found'] < 6 and shifted['near_misses'] >= 1
    assert shifted['false_pos'] == 6 - shifted['found']
    none = evaluate_detector_scenes(Oracle([np.zeros((0, 4))] * 2), specs,
                                    2, 3, seed=7)
    assert none['found'] == 0 and none['median_best_iou'] == 0
    row = detection_row('oracle', {7: perfect}, dict(scenes=4,
                                                     detections=2))
    assert row.startswith('| oracle | 6 of 6 (100.0 %) | 1; 2 in 4 | 1.00')
    assert DETECTION_HEADER.count('\n') == 1
    with pytest.raises(ValueError, match='need 15 faces'):
        evaluate_detector_scenes(Oracle(truth), specs, 5, 3)
