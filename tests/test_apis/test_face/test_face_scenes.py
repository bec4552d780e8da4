"""apis/face/scenes.py: faces pasted at known places, box matching."""
import cv2
import numpy as np
import pytest

from mpa_fer_plugin.apis.face import box_iou, make_scene, match_boxes


def test_make_scene_places_faces_where_it_says():
    rng = np.random.default_rng(0)
    faces = [np.full((50, 50, 3), v, np.uint8) for v in (10, 120, 250)]
    scene, boxes = make_scene(faces, rng, size=(200, 300),
                              face_sizes=(40, 60),
                              face_box=(0.25, 0.25, 0.75, 0.75))
    assert scene.shape == (200, 300, 3) and boxes.shape == (3, 4)
    iou = box_iou(boxes, boxes)
    assert np.all(iou[~np.eye(3, dtype=bool)] == 0)
    for (x1, y1, x2, y2), v in zip(boxes, (10, 120, 250)):
        cx, cy = int((x1 + x2) / 2), int((y1 + y2) / 2)
        assert scene[cy, cx].tolist() == [v] * 3
        assert 0 <= x1 < x2 <= 300 and 0 <= y1 < y2 <= 200
    ell, _ = make_scene(faces[:1], np.random.default_rng(0), size=(200, 300),
                        face_sizes=(40, 60), ellipse=True,
                        background=np.zeros((10, 10, 3), np.uint8))
    assert cv2.countNonZero(ell[..., 0]) > 0
    with pytest.raises(ValueError, match='does not fit'):
        make_scene(faces, rng, size=(30, 30), face_sizes=(40, 40))


def test_match_boxes():
    truth = np.array([[0, 0, 10, 10], [20, 20, 30, 30], [50, 50, 60, 60]])
    pred = np.array([[21, 21, 31, 31], [0, 1, 10, 11], [80, 80, 90, 90]])
    assert match_boxes(pred, truth) == [1, 0, None]
    assert match_boxes(np.zeros((0, 4)), truth) == [None] * 3
