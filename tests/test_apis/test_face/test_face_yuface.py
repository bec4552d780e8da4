"""apis/face/yuface_detector.py: libfacedetection (yuface) detector."""
import importlib.util
import sys
import warnings

import numpy as np
import pytest
from face_data import ASTRONAUT_FACE, ASTRONAUT_POINTS, astronaut

from mpa_fer_plugin.apis.face import box_iou, build_face_detector, match_boxes
from mpa_fer_plugin.apis.face.evaluate import face_scene, world_face_specs
from mpa_fer_plugin.apis.face.yuface_detector import YuFaceDetector

needs_yuface = pytest.mark.skipif(
    importlib.util.find_spec('yuface') is None,
    reason='yuface is not installed (requirements/common.txt pins it '
    'where a wheel exists)')


@needs_yuface
def test_finds_the_astronaut_and_its_landmarks():
    dets = build_face_detector('yuface').detect(astronaut())
    assert isinstance(build_face_detector('YuFaceDetector'), YuFaceDetector)
    assert len(dets) == 1
    boxes, landmarks, scores = dets
    assert box_iou(boxes, ASTRONAUT_FACE[None])[0, 0] >= 0.6
    assert 0.3 <= scores[0] <= 1 and np.isfinite(landmarks).all()
    # eyes (image-left first) within 8 px of the hand annotation
    assert np.abs(landmarks[0, :2] - ASTRONAUT_POINTS[:2]).max() < 8
    nose, mouth = landmarks[0, 2], landmarks[0, 3:].mean(axis=0)
    assert np.abs(mouth - ASTRONAUT_POINTS[2]).max() < 8
    assert landmarks[0, 3, 0] < nose[0] < landmarks[0, 4, 0]
    assert landmarks[0, :2, 1].max() < nose[1] < mouth[1]


@needs_yuface
def test_results_are_mapped_back_to_the_input_pixels():
    img = astronaut()
    base = YuFaceDetector().detect(img)
    # a view flipped left-right: the library reads raw buffers, so the
    # detector must copy it (else it would see the unflipped photo)
    flip = YuFaceDetector().detect(img[:, ::-1])
    mirrored = np.array([[512 - base.boxes[0, 2], base.boxes[0, 1],
                          512 - base.boxes[0, 0], base.boxes[0, 3]]])
    assert len(flip) == 1 and box_iou(flip.boxes, mirrored)[0, 0] > 0.8
    # larger than max_side: shrunk for the network, boxes scaled back
    big = np.repeat(np.repeat(img, 2, axis=0), 2, axis=1)
    dets = YuFaceDetector(upscale=1.0, max_side=640).detect(big)
    assert len(dets) == 1
    assert box_iou(dets.boxes / 2, base.boxes)[0, 0] > 0.8
    assert np.abs(dets.landmarks / 2 - base.landmarks).max() < 6
    grey = YuFaceDetector().detect(img[..., 1])  # HxW input
    assert len(grey) == 1 and box_iou(grey.boxes, base.boxes)[0, 0] > 0.8


@needs_yuface
def test_no_face_and_score_threshold():
    rng = np.random.default_rng(0)
    for image in (np.full((120, 160, 3), 128, np.uint8),
                  rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)):
        dets = YuFaceDetector().detect(image)
        assert len(dets) == 0 and dets.landmarks.shape == (0, 5, 2)
    assert len(YuFaceDetector(min_score=1.0).detect(astronaut())) == 0
    with pytest.raises(ValueError, match='min_score'):
        YuFaceDetector(min_score=5)
    with pytest.raises(ValueError, match='upscale'):
        YuFaceDetector(upscale=0)


@needs_yuface
def test_finds_drawn_demo_faces_haar_misses():
    # 4 scenes of 5 demo training faces (measured: 18 found, Haar 13)
    specs = world_face_specs('train', limit=20)
    det, haar = YuFaceDetector(), build_face_detector('haar')
    found, false_pos = {'yuface': 0, 'haar': 0}, 0
    for s in range(4):
        scene, truth = face_scene(specs[5 * s:5 * s + 5],
                                  np.random.default_rng([0, 14, s]))
        for name, d in (('yuface', det), ('haar', haar)):
            boxes = d.detect(scene).boxes
            hits = sum(j is not None for j in match_boxes(boxes, truth, 0.5))
            found[name] += hits
            if name == 'yuface':
                false_pos += len(boxes) - hits
    assert found['yuface'] >= 17 and found['yuface'] > found['haar'] + 3
    assert false_pos <= 1


def test_missing_package_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, 'yuface', None)  # import fails
    with pytest.raises(ImportError, match="pip install 'yuface"):
        build_face_detector('yuface')


@needs_yuface
def test_default_is_yuface_when_installed(recwarn):
    for spec in (None, 'auto', 'AUTO'):
        assert isinstance(build_face_detector(spec), YuFaceDetector)
    assert not [w for w in recwarn if 'yuface' in str(w.message)]


def test_default_falls_back_to_haar_with_one_warning(monkeypatch):
    from mpa_fer_plugin.apis.face import HaarFaceDetector
    from mpa_fer_plugin.apis.face.auto import YUFACE_MISSING
    monkeypatch.setitem(sys.modules, 'yuface', None)  # import fails
    for spec in (None, 'auto'):
        with pytest.warns(UserWarning) as caught:
            det = build_face_detector(spec)
        assert isinstance(det, HaarFaceDetector)
        assert [str(w.message) for w in caught] == [YUFACE_MISSING]
    assert "pip install 'yuface==2023.5.1'" in YUFACE_MISSING
    assert 'fewer faces' in YUFACE_MISSING
    # naming a detector never warns
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert isinstance(build_face_detector('haar'), HaarFaceDetector)
