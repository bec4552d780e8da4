"""Building face detectors by name, and the ``'auto'`` default chain.

This module imports every detector module (none imports it back), so the
choice of the default lives in one place. ``'auto'`` takes the first
detector of :data:`AUTO_CHAIN` that works in this environment:

1. ``'YuFaceDetector'`` (:mod:`.yuface_detector`) where the ``yuface``
   wheel imports (CPython <= 3.11 on Linux x86_64 and Windows);
2. ``'HaarFaceDetector'`` (:mod:`.detectors`) where OpenCV has
   ``cv2.CascadeClassifier`` and ships the Haar cascade files (OpenCV
   4.x; 5.0 dropped both);
3. ``'LBPFaceDetector'`` (:mod:`.lbp_detector`): scikit-image's LBP
   frontal-face cascade, on every Python and OpenCV.

A fallback warns once, naming what is missing and how to get the better
detector; naming a detector explicitly never warns.
"""
import importlib
import os.path as osp
import warnings
from typing import Any, Optional

import cv2

from . import yuface_detector  # noqa: F401 (registers YuFaceDetector)
from .detectors import FACE_DETECTORS, DetectorSpec
from .lbp_detector import lbp_available

#: Short names accepted by :func:`build_face_detector`.
ALIASES = {'haar': 'HaarFaceDetector', 'mtcnn': 'MTCNNFaceDetector',
           'yuface': 'YuFaceDetector', 'lbp': 'LBPFaceDetector',
           'none': 'WholeImageDetector', 'whole': 'WholeImageDetector'}
#: Named settings of a registered detector (:func:`build_face_detector`).
PRESETS = {'haar_classic': dict(type='HaarFaceDetector', equalize=True,
                                blur=0.0, min_neighbors=5)}
#: What ``'auto'`` tries, in order.
AUTO_CHAIN = ('YuFaceDetector', 'HaarFaceDetector', 'LBPFaceDetector')

#: The warning of ``'auto'`` when ``yuface`` does not import but Haar works.
YUFACE_MISSING = (
    "face detector 'auto': yuface is not installed, so OpenCV's Haar "
    'cascades are used, which find fewer faces (see docs/compatibility.md, '
    "'Face detectors'); `pip install 'yuface==2023.5.1'` (CPython 3.8-3.11, "
    'Linux x86_64 or Windows) for the CNN detector, or pass '
    "detector='haar' to choose Haar and silence this")
#: The warning of ``'auto'`` when neither yuface nor Haar is available.
HAAR_MISSING = (
    "face detector 'auto': yuface is not installed and OpenCV {version} has "
    'no Haar cascades (cv2.CascadeClassifier or cv2.data.haarcascades is '
    "missing: OpenCV 5 dropped them), so scikit-image's LBP cascade is "
    "used, which finds fewer faces (see docs/compatibility.md, 'Face "
    "detectors'); `pip install 'opencv-python-headless<5'` for Haar, "
    "or pass detector='lbp' to choose it and silence this")


def yuface_available() -> bool:
    """Whether the ``yuface`` package imports."""
    try:
        importlib.import_module('yuface')
    except ImportError:
        return False
    return True


def haar_cascade_dir() -> Optional[str]:
    """OpenCV's Haar cascade folder, or None where OpenCV cannot use it.

    Returns:
        str | None: ``cv2.data.haarcascades`` when ``cv2`` has
        ``CascadeClassifier`` and the folder holds the frontal-face
        cascade, else None.
    """
    if not hasattr(cv2, 'CascadeClassifier'):
        return None
    folder = getattr(getattr(cv2, 'data', None), 'haarcascades', None)
    if not folder or not osp.isfile(
            osp.join(folder, 'haarcascade_frontalface_default.xml')):
        return None
    return folder


def auto_detector_name() -> str:
    """What ``'auto'`` (the default detector) builds here.

    Returns:
        str: The first entry of :data:`AUTO_CHAIN` available here; a
        fallback warns (:data:`YUFACE_MISSING`, :data:`HAAR_MISSING`).

    Raises:
        RuntimeError: If no detector of the chain is available (scikit-
            image missing as well); the message names the installs.
    """
    if yuface_available():
        return 'YuFaceDetector'
    if haar_cascade_dir() is not None:
        warnings.warn(YUFACE_MISSING, UserWarning, stacklevel=3)
        return 'HaarFaceDetector'
    if lbp_available():
        warnings.warn(HAAR_MISSING.format(version=cv2.__version__),
                      UserWarning, stacklevel=3)
        return 'LBPFaceDetector'
    raise RuntimeError(
        "face detector 'auto': none of yuface, OpenCV's Haar cascades "
        f'(OpenCV {cv2.__version__}) or scikit-image is available; '
        "install the plugin's face extra (`pip install "
        "'mpa_fer_plugin[face]'`: scikit-image and opencv-python<5)")


def build_face_detector(spec: DetectorSpec = None) -> Any:
    """Build a face detector from a name, a config dict or an object.

    Args:
        spec: None or ``'auto'`` (the default, :func:`auto_detector_name`);
            a registered name or an alias (``'yuface'``, ``'haar'``,
            ``'lbp'``, ``'mtcnn'``, ``'none'``); a dict with ``type`` and
            the constructor's arguments; a name of :data:`PRESETS`
            (``'haar_classic'``); or any object with a ``detect(image)``
            method (returned as it is).

    Returns:
        An object with ``detect(image) -> FaceDetections``.
    """
    if spec is None or (isinstance(spec, str) and spec.lower() == 'auto'):
        spec = auto_detector_name()
    if isinstance(spec, str):
        spec = dict(PRESETS.get(spec.lower(), dict(type=spec)))
    if isinstance(spec, dict):
        spec = dict(spec)
        name = spec.get('type')
        if isinstance(name, str):
            spec['type'] = ALIASES.get(name.lower(), name)
            if spec['type'] not in FACE_DETECTORS:
                raise KeyError(
                    f'unknown face detector {name!r}; registered: '
                    f'{sorted(FACE_DETECTORS.module_dict)} (aliases '
                    f'{sorted(ALIASES)}, presets {sorted(PRESETS)}); '
                    'register your own in '
                    'mpa_fer_plugin.apis.face.FACE_DETECTORS')
        return FACE_DETECTORS.build(spec)
    if not callable(getattr(spec, 'detect', None)):
        raise TypeError(f'a face detector needs a detect(image) method; '
                        f'got {type(spec).__name__}')
    return spec
