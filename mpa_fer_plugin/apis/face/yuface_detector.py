"""libfacedetection's CNN face detector (YuNet), through ``yuface``.

`yuface <https://pypi.org/project/yuface/>`_ (BSD) is a pybind11 build of
Shiqi Yu's `libfacedetection` for CPython: the network's weights are
compiled into its shared library, so nothing is downloaded and it works
offline. It gives a box, a confidence (0-100) and 5 landmarks per face.
The default chain that prefers it is :mod:`.auto`.
"""
import cv2
import numpy as np

from .detectors import (
    FACE_DETECTORS,
    FaceDetections,
    _check_image,
    as_detections,
)


@FACE_DETECTORS.register_module()
class YuFaceDetector:
    """libfacedetection (YuNet) via the ``yuface`` wheel; 5 landmarks.

    The library reports a box ``x, y, w, h``, a confidence in percent and
    the eyes, nose tip and mouth corners, image-left first (the order of
    :data:`~.detectors.LANDMARK_NAMES`). The defaults were chosen on
    scenes of demo training faces (README, "Photos and videos"): the
    image is blurred a little (sigma 1 px) and enlarged 1.5 times before
    the network sees it, and faces down to a confidence of 0.3 are kept.

    Args:
        min_score (float): Drop faces below this confidence (0-1; the
            library itself reports none below about 0.15). Defaults to
            0.3.
        upscale (float): Enlarge the image by this factor first (finds
            more small and odd faces), within ``max_side``. Defaults to
            1.5.
        blur (float): Gaussian blur sigma in pixels of the input image,
            0 for none. Defaults to 1.
        max_side (int): The network never sees a longer side than this
            (the library warns above 960 px); larger images are shrunk
            and the results scaled back. Defaults to 960.
    """

    def __init__(self, min_score: float = 0.3, upscale: float = 1.5,
                 blur: float = 1.0, max_side: int = 960) -> None:
        try:
            import yuface
        except ImportError as e:
            raise ImportError(
                "YuFaceDetector needs yuface (`pip install 'yuface==2023."
                "5.1'`: CPython 3.8-3.11 wheels with the weights built in), "
                "or use detector='haar' or 'lbp'") from e
        self._detect = yuface.detect
        if not 0 <= min_score <= 1:
            raise ValueError(f'min_score must be in [0, 1], got {min_score}')
        if upscale <= 0 or max_side < 32:
            raise ValueError('upscale must be > 0 and max_side >= 32, got '
                             f'{upscale} and {max_side}')
        self.min_score, self.upscale = float(min_score), float(upscale)
        self.blur, self.max_side = float(blur), int(max_side)

    def detect(self, image: np.ndarray) -> FaceDetections:
        """Find faces and their 5 landmarks in a BGR image."""
        image = _check_image(image)
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        h, w = image.shape[:2]
        if self.blur > 0:
            image = cv2.GaussianBlur(image, (0, 0), self.blur)
        scale = min(self.upscale, self.max_side / max(h, w))
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        if size != (w, h):
            image = cv2.resize(image, size, interpolation=(
                cv2.INTER_LINEAR if scale > 1 else cv2.INTER_AREA))
        # x and y factors of the resize (rounded sizes)
        xy = np.array([size[0] / w, size[1] / h], np.float32)
        # the library reads the buffer as packed HxWx3 uint8, whatever
        # the strides: a view must be copied
        image = np.ascontiguousarray(image, np.uint8)
        confs, boxes, points = self._detect(image, conf=self.min_score)
        if len(confs) == 0:
            return FaceDetections.empty()
        boxes = boxes.astype(np.float32).reshape(-1, 2, 2)
        boxes[:, 1] += boxes[:, 0]  # x, y, w, h -> x1, y1, x2, y2
        boxes = (boxes / xy).reshape(-1, 4)
        points = points.astype(np.float32).reshape(-1, 5, 2) / xy
        scores = confs.astype(np.float32) / 100
        order = np.argsort(-scores, kind='stable')
        return as_detections((boxes[order], points[order], scores[order]),
                             'YuFaceDetector')
