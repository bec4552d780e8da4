"""scikit-image's LBP frontal-face cascade: a detector without OpenCV.

scikit-image ships a multi-block LBP cascade trained on frontal faces
(``skimage.data.lbp_frontal_face_cascade_filename()``) and runs it with
:class:`skimage.feature.Cascade`. It needs neither OpenCV's cascade files
nor ``cv2.CascadeClassifier`` (both gone in OpenCV 5) nor a wheel limited
to some Pythons, so it is the last step of the ``'auto'`` chain
(:mod:`.auto`): every Python and OpenCV the plugin supports has it.
It gives boxes only (no landmarks; every score is 1).
"""
import numpy as np

from .detectors import FACE_DETECTORS, FaceDetections, _check_image


def lbp_available() -> bool:
    """Whether scikit-image and its LBP face cascade can be loaded.

    Returns:
        bool: True when :class:`LBPFaceDetector` can be built.
    """
    try:
        from skimage import data
        from skimage.feature import Cascade  # noqa: F401
        return bool(data.lbp_frontal_face_cascade_filename())
    except (ImportError, AttributeError, OSError):
        return False


@FACE_DETECTORS.register_module()
class LBPFaceDetector:
    """Frontal faces with scikit-image's LBP cascade (boxes only).

    The image is turned grey and, when its longer side exceeds
    ``max_side``, shrunk first (the cascade's cost grows with the pixel
    count); boxes are scaled back to the input image.

    Args:
        scale_factor (float): Window growth between pyramid levels.
            Defaults to 1.2.
        step_ratio (float): Sliding step in units of the window's scale
            (1 visits every position; larger is faster and misses more).
            Defaults to 1.5.
        min_size (int): Smallest face side in pixels of the input image.
            Defaults to 24.
        min_neighbours (int): Overlapping hits a face needs. Defaults
            to 4.
        max_side (int): Longest side the cascade sees. Defaults to 640.
    """

    def __init__(self, scale_factor: float = 1.2, step_ratio: float = 1.5,
                 min_size: int = 24, min_neighbours: int = 4,
                 max_side: int = 640) -> None:
        try:
            from skimage import data
            from skimage.feature import Cascade
        except ImportError as e:
            raise ImportError(
                'LBPFaceDetector needs scikit-image (`pip install '
                "scikit-image`, part of the plugin's [face] extra)") from e
        if scale_factor <= 1 or step_ratio <= 0:
            raise ValueError('scale_factor must be > 1 and step_ratio > 0, '
                             f'got {scale_factor} and {step_ratio}')
        if min_size < 8 or max_side < 32:
            raise ValueError('min_size must be >= 8 and max_side >= 32, got '
                             f'{min_size} and {max_side}')
        self.cascade = Cascade(data.lbp_frontal_face_cascade_filename())
        self.scale_factor, self.step_ratio = float(scale_factor), float(
            step_ratio)
        self.min_size, self.min_neighbours = int(min_size), int(
            min_neighbours)
        self.max_side = int(max_side)

    def detect(self, image: np.ndarray) -> FaceDetections:
        """Find frontal faces in a BGR (or grey) ``uint8`` image."""
        from skimage.transform import resize
        image = _check_image(image)
        gray = image.astype(np.float32)
        if gray.ndim == 3:  # BGR -> luma
            gray = gray[..., :3] @ np.array([0.114, 0.587, 0.299],
                                            np.float32)
        gray /= 255.0
        h, w = gray.shape
        scale = min(1.0, self.max_side / max(h, w))
        if scale < 1:
            gray = resize(gray, (max(1, round(h * scale)),
                                 max(1, round(w * scale))),
                          anti_aliasing=True).astype(np.float32)
        side = max(8, round(self.min_size * scale))
        if min(gray.shape) < side:
            return FaceDetections.empty()
        hits = self.cascade.detect_multi_scale(
            img=gray, scale_factor=self.scale_factor,
            step_ratio=self.step_ratio, min_size=(side, side),
            max_size=gray.shape, min_neighbor_number=self.min_neighbours)
        if not hits:
            return FaceDetections.empty()
        boxes = np.array([[d['c'], d['r'], d['c'] + d['width'],
                           d['r'] + d['height']] for d in hits],
                         np.float32) / scale
        # largest first: the cascade gives no confidence
        order = np.argsort(-(boxes[:, 2] - boxes[:, 0]), kind='stable')
        boxes = boxes[order]
        return FaceDetections(boxes,
                              np.full((len(boxes), 5, 2), np.nan,
                                      np.float32),
                              np.ones(len(boxes), np.float32))
