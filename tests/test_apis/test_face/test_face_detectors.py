"""apis/face/detectors.py: Haar on a real photo, registry, custom ones."""
import numpy as np
import pytest
from face_data import ASTRONAUT_FACE, ASTRONAUT_POINTS, astronaut

from mpa_fer_plugin.apis.face import (
    FACE_DETECTORS,
    FaceDetections,
    HaarFaceDetector,
    WholeImageDetector,
    as_detections,
    box_iou,
    build_face_detector,
)


def test_haar_finds_the_astronaut():
    dets = build_face_detector('haar').detect(astronaut())
    assert isinstance(dets, FaceDetections) and len(dets) == 1
    boxes, landmarks, scores = dets  # the interface is a 3-tuple
    assert boxes.shape == (1, 4) and landmarks.shape == (1, 5, 2)
    assert box_iou(boxes, ASTRONAUT_FACE[None])[0, 0] >= 0.5
    x1, y1, x2, y2 = boxes[0]
    for x, y in ASTRONAUT_POINTS:  # eyes and mouth inside the box
        assert x1 < x < x2 and y1 < y < y2
    # Eye cascade: both eyes found, within 8 px of the annotation.
    assert np.abs(landmarks[0, :2] - ASTRONAUT_POINTS[:2]).max() < 8
    assert np.isnan(landmarks[0, 2:]).all() and scores[0] > 0


def test_no_face_is_an_empty_result():
    rng = np.random.default_rng(0)
    for image in (np.full((120, 160, 3), 128, np.uint8),
                  rng.integers(0, 256, (120, 160), dtype=np.uint8)):
        dets = build_face_detector('haar').detect(image)
        assert len(dets) == 0
        assert dets.boxes.shape == (0, 4)
        assert dets.landmarks.shape == (0, 5, 2)


def test_build_by_name_dict_and_object():
    assert isinstance(build_face_detector('none'), WholeImageDetector)
    haar = build_face_detector(dict(type='haar', min_neighbors=3,
                                    find_eyes=False))
    assert isinstance(haar, HaarFaceDetector) and haar.eye is None
    assert haar.min_neighbors == 3
    whole = WholeImageDetector().detect(np.zeros((10, 20, 3), np.uint8))
    assert whole.boxes.tolist() == [[0, 0, 20, 10]]

    class Mine:
        def detect(self, image):
            return [[1, 2, 5, 9]], None, None

    mine = Mine()
    assert build_face_detector(mine) is mine
    with pytest.raises(KeyError, match="unknown face detector 'retina'"):
        build_face_detector('retina')
    with pytest.raises(TypeError, match='detect'):
        build_face_detector(object())


def test_register_own_detector():
    @FACE_DETECTORS.register_module(force=True)
    class FixedFaceDetector:
        def __init__(self, box=(0, 0, 4, 4)):
            self.box = box

        def detect(self, image):
            pts = np.arange(10, dtype=np.float32).reshape(1, 5, 2)
            return FaceDetections(np.array([self.box], np.float32), pts,
                                  np.array([0.9], np.float32))

    det = build_face_detector(dict(type='FixedFaceDetector',
                                   box=(1, 1, 9, 9)))
    assert det.detect(None).boxes.tolist() == [[1, 1, 9, 9]]


def test_as_detections_checks_shapes():
    out = as_detections(([[0, 0, 2, 2]], None, None))
    assert np.isnan(out.landmarks).all() and out.scores.tolist() == [1.0]
    with pytest.raises(ValueError, match=r'landmarks must have shape'):
        as_detections(([[0, 0, 2, 2]], np.zeros((1, 3, 2)), None))
    with pytest.raises(ValueError, match='x2 > x1'):
        as_detections(([[5, 0, 2, 2]], None, None))
    with pytest.raises(ValueError, match=r'2 scores for 1 boxes'):
        as_detections(([[0, 0, 2, 2]], None, [1, 2]))
    with pytest.raises(ValueError, match='must return'):
        as_detections([1, 2])


def test_missing_cascades_and_mtcnn(tmp_path):
    with pytest.raises(RuntimeError, match='cannot load the Haar cascade'):
        HaarFaceDetector(cascade_dir=str(tmp_path))
    try:
        import facenet_pytorch  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match='--no-deps facenet-pytorch'):
            build_face_detector('mtcnn')
    else:  # pragma: no cover - not in the CI set
        pytest.skip('facenet-pytorch is installed')
