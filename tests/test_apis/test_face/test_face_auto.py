"""apis/face/auto.py: the 'auto' chain yuface -> Haar -> LBP, by name."""
import ast
import inspect
import sys
import warnings

import cv2
import pytest
from face_data import ASTRONAUT_FACE, astronaut

from mpa_fer_plugin.apis.face import (
    HaarFaceDetector,
    LBPFaceDetector,
    auto_detector_name,
    box_iou,
    build_face_detector,
    detectors,
    lbp_detector,
    yuface_detector,
)
from mpa_fer_plugin.apis.face import auto as auto_mod


@pytest.fixture
def no_yuface(monkeypatch):
    monkeypatch.setitem(sys.modules, 'yuface', None)  # import fails


@pytest.fixture
def opencv5(monkeypatch, no_yuface):
    """A cv2 like OpenCV 5's: no CascadeClassifier, no cascade files."""
    monkeypatch.delattr(cv2, 'CascadeClassifier')
    monkeypatch.setattr(cv2, '__version__', '5.0.0')


def test_without_yuface_and_haar_auto_is_lbp_and_finds_the_face(opencv5):
    assert auto_mod.haar_cascade_dir() is None
    with pytest.warns(UserWarning) as caught:
        det = build_face_detector(None)
    assert isinstance(det, LBPFaceDetector)
    assert [str(w.message) for w in caught] == [
        auto_mod.HAAR_MISSING.format(version='5.0.0')]
    assert 'OpenCV 5.0.0 has no Haar cascades' in str(caught[0].message)
    boxes, landmarks, scores = det.detect(astronaut())
    assert len(boxes) >= 1
    assert box_iou(boxes[:1], ASTRONAUT_FACE[None])[0, 0] >= 0.5
    assert scores.tolist() == [1.0] * len(boxes)
    # Haar named explicitly: a clear error, not an AttributeError
    with pytest.raises(RuntimeError, match='no cv2.CascadeClassifier'):
        build_face_detector('haar')


def test_missing_cascade_files_skip_haar(no_yuface, monkeypatch, tmp_path):
    monkeypatch.setattr(cv2.data, 'haarcascades', str(tmp_path))
    with pytest.warns(UserWarning, match="scikit-image's LBP"):
        assert auto_detector_name() == 'LBPFaceDetector'


def test_chain_order(no_yuface, monkeypatch):
    assert auto_mod.AUTO_CHAIN == ('YuFaceDetector', 'HaarFaceDetector',
                                   'LBPFaceDetector')
    with pytest.warns(UserWarning, match='yuface is not installed'):
        assert isinstance(build_face_detector('auto'), HaarFaceDetector)
    monkeypatch.delattr(cv2, 'CascadeClassifier')
    monkeypatch.setattr(lbp_detector, 'lbp_available', lambda: False)
    monkeypatch.setattr(auto_mod, 'lbp_available', lambda: False)
    with pytest.raises(RuntimeError, match=r'mpa_fer_plugin\[face\]'):
        build_face_detector('auto')


def test_lbp_by_name_never_warns():
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert isinstance(build_face_detector('lbp'), LBPFaceDetector)
        assert isinstance(build_face_detector('LBPFaceDetector'),
                          LBPFaceDetector)


def test_detector_modules_do_not_import_the_chain():
    """Only auto.py imports the detector modules, never the reverse."""
    for mod in (detectors, yuface_detector, lbp_detector):
        tree = ast.parse(inspect.getsource(mod))
        imported = {node.module for node in ast.walk(tree)
                    if isinstance(node, ast.ImportFrom)}
        imported |= {a.name for node in ast.walk(tree)
                     if isinstance(node, (ast.Import, ast.ImportFrom))
                     for a in node.names}
        assert 'auto' not in imported and 'yuface_detector' not in \
            imported - {mod.__name__.rsplit('.', 1)[1]}, mod.__name__
