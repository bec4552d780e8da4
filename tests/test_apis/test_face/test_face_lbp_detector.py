"""apis/face/lbp_detector.py: scikit-image's LBP cascade (no OpenCV)."""
import numpy as np
import pytest
from face_data import ASTRONAUT_FACE, astronaut

from mpa_fer_plugin.apis.face import FaceDetections, LBPFaceDetector, box_iou
from mpa_fer_plugin.apis.face.lbp_detector import lbp_available


def test_finds_the_astronaut_boxes_only():
    assert lbp_available()
    dets = LBPFaceDetector().detect(astronaut())
    assert isinstance(dets, FaceDetections) and len(dets) == 1
    boxes, landmarks, scores = dets
    assert box_iou(boxes, ASTRONAUT_FACE[None])[0, 0] >= 0.5
    assert np.isnan(landmarks).all() and scores.tolist() == [1.0]


def test_large_image_is_shrunk_and_boxes_scaled_back():
    big = np.ascontiguousarray(np.kron(astronaut(), np.ones((2, 2, 1),
                                                           np.uint8)))
    boxes = LBPFaceDetector(max_side=512).detect(big).boxes
    assert len(boxes) >= 1
    assert box_iou(boxes[:1] / 2, ASTRONAUT_FACE[None])[0, 0] >= 0.5


def test_grey_and_tiny_images_and_bad_arguments():
    grey = astronaut()[..., 1]
    assert len(LBPFaceDetector().detect(grey)) >= 1
    assert len(LBPFaceDetector().detect(np.zeros((10, 10, 3),
                                                 np.uint8))) == 0
    with pytest.raises(ValueError, match='scale_factor must be > 1'):
        LBPFaceDetector(scale_factor=1.0)
    with pytest.raises(ValueError, match='min_size must be >= 8'):
        LBPFaceDetector(min_size=2)
    with pytest.raises(ValueError, match='HxWx3'):
        LBPFaceDetector().detect(np.zeros(5, np.uint8))
