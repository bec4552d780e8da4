"""Face detectors behind one interface: ``detect(image) -> boxes, ...``.

Every detector takes a BGR ``uint8`` image (as :func:`load_image` returns)
and returns :class:`FaceDetections`, a named tuple
``(boxes, landmarks, scores)``:

* ``boxes``: ``(N, 4)`` float32 ``x1, y1, x2, y2`` in pixels;
* ``landmarks``: ``(N, 5, 2)`` float32 in the order
  :data:`LANDMARK_NAMES` (eyes, nose tip, mouth corners; "left" is the
  image's left), ``NaN`` where the detector does not give a point (the Haar
  detector gives the two eyes at most);
* ``scores``: ``(N,)`` float32, higher is more confident (the scale
  depends on the detector).

Detectors live in the registry :data:`FACE_DETECTORS`, so a config or a
flag picks one by name (:func:`~.auto.build_face_detector`). Your own detector
(RetinaFace, InsightFace, MediaPipe, ...) plugs in by registering a class
with a ``detect`` method, or by passing any object that has one.

Building by name and the default chain ``'auto'`` (yuface, else Haar,
else scikit-image's LBP cascade) live in :mod:`.auto`, which imports this
module and the other detector modules (:mod:`.yuface_detector`,
:mod:`.lbp_detector`); none of them imports it back.
``'HaarFaceDetector'`` needs nothing but OpenCV 4.x: its wheels ship the
Haar cascades under ``cv2.data.haarcascades`` and
``cv2.CascadeClassifier`` (OpenCV 5.0 dropped both).
``'MTCNNFaceDetector'`` wraps facenet-pytorch's MTCNN (5 landmarks,
weights inside its wheel); it is imported only when built.
"""
import os.path as osp
from typing import Any, NamedTuple, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from mmengine.registry import Registry

#: Registry of face detectors; build with
#: :func:`~.auto.build_face_detector`.
FACE_DETECTORS = Registry('face detector')

#: Order of the 5 landmarks of :class:`FaceDetections`.
LANDMARK_NAMES = ('left_eye', 'right_eye', 'nose', 'mouth_left',
                  'mouth_right')

class FaceDetections(NamedTuple):
    """Faces found in one image (see the module docstring)."""

    boxes: np.ndarray
    landmarks: np.ndarray
    scores: np.ndarray

    @classmethod
    def empty(cls) -> 'FaceDetections':
        """No face."""
        return cls(np.zeros((0, 4), np.float32),
                   np.zeros((0, 5, 2), np.float32),
                   np.zeros((0, ), np.float32))

    def __len__(self) -> int:  # number of faces, not of fields
        return int(self.boxes.shape[0])


def as_detections(output: Any, where: str = 'the detector'
                  ) -> FaceDetections:
    """Check and convert a detector's ``(boxes, landmarks, scores)``.

    Args:
        output: A :class:`FaceDetections` or a 3-tuple; ``landmarks`` may
            be None (no landmarks) and ``scores`` None (all 1).
        where (str): Named in errors.

    Returns:
        FaceDetections: float32 arrays of the documented shapes.
    """
    if not isinstance(output, tuple) or tuple.__len__(output) != 3:
        raise ValueError(f'{where} must return (boxes, landmarks, scores), '
                         f'got {type(output).__name__}')
    boxes, landmarks, scores = (tuple.__getitem__(output, i)
                                for i in range(3))
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    n = boxes.shape[0]
    if landmarks is None:
        landmarks = np.full((n, 5, 2), np.nan, np.float32)
    landmarks = np.asarray(landmarks, np.float32)
    if landmarks.shape != (n, 5, 2):
        raise ValueError(f'{where}: landmarks must have shape ({n}, 5, 2) '
                         f'for {n} boxes, got {landmarks.shape}')
    scores = (np.ones(n, np.float32) if scores is None else
              np.asarray(scores, np.float32).reshape(-1))
    if scores.shape != (n, ):
        raise ValueError(f'{where}: {scores.shape[0]} scores for {n} boxes')
    if n and not np.all(boxes[:, 2:] > boxes[:, :2]):
        raise ValueError(f'{where}: boxes must be x1, y1, x2, y2 with '
                         f'x2 > x1 and y2 > y1, got {boxes.tolist()}')
    return FaceDetections(boxes, landmarks, scores)


def _check_image(image: np.ndarray) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.ndim not in (2, 3):
        raise ValueError('a detector takes an HxWx3 BGR (or HxW) uint8 '
                         f'array, got {getattr(image, "shape", image)!r}')
    return image


@FACE_DETECTORS.register_module()
class HaarFaceDetector:
    """OpenCV's Viola-Jones frontal-face cascade, plus eye cascades.

    Faces come from ``haarcascade_frontalface_default.xml``; each face's
    score is the cascade's last-stage weight (``detectMultiScale3``). With
    ``find_eyes`` the eye cascade runs in the upper part of every face box;
    when it finds one eye in each half, their centres become landmarks 0
    and 1 (the aligner then levels the eyes), otherwise the landmarks stay
    ``NaN`` (the aligner uses the box).

    The defaults (blur 2, no histogram equalisation, 3 neighbours) were
    chosen on scenes of demo training faces (README, "Photos and videos"):
    they find more of the cartoon faces with fewer false positives than
    OpenCV's usual settings, which the preset ``'haar_classic'`` keeps
    (equalised, unblurred, 5 neighbours).

    Args:
        scale_factor (float): Image pyramid step. Defaults to 1.1.
        min_neighbors (int): Overlapping hits a face needs (higher: fewer
            false positives, more misses). Defaults to 3.
        min_size (int): Smallest face side in pixels. Defaults to 24.
        find_eyes (bool): Look for the eyes. Defaults to True.
        equalize (bool): Equalise the grey histogram first. Defaults to
            False.
        cascade_dir (str, optional): Folder of the cascade files. Defaults
            to ``cv2.data.haarcascades``.
        cascades (Sequence[str]): Face cascade files of ``cascade_dir``;
            with several, every cascade runs and the hits are merged by
            non-maximum suppression. Defaults to the frontal-face default.
        angles (Sequence[float]): In-plane rotations (degrees) to run the
            cascades on as well as the upright image (the cascades are
            trained on upright faces); hits are mapped back (centre and
            size; the box stays axis-aligned). Defaults to ``()``.
        nms_iou (float): Merging overlap of hits from several cascades or
            angles. Defaults to 0.3.
        blur (float): Gaussian blur sigma (pixels) of the grey image the
            face cascades see (the eyes are searched unblurred). Defaults
            to 2.
    """

    def __init__(self, scale_factor: float = 1.1, min_neighbors: int = 3,
                 min_size: int = 24, find_eyes: bool = True,
                 equalize: bool = False,
                 cascade_dir: Optional[str] = None,
                 cascades: Sequence[str] = (
                     'haarcascade_frontalface_default.xml', ),
                 angles: Sequence[float] = (),
                 nms_iou: float = 0.3,
                 blur: float = 2.0) -> None:
        if not hasattr(cv2, 'CascadeClassifier'):
            raise RuntimeError(
                f'OpenCV {cv2.__version__} has no cv2.CascadeClassifier '
                '(OpenCV 5 dropped it): install opencv-python-headless<5, '
                "or use detector='lbp' (scikit-image) or 'auto'")
        if cascade_dir is None:
            data = getattr(cv2, 'data', None)
            cascade_dir = getattr(data, 'haarcascades', None)
            if cascade_dir is None:
                raise RuntimeError(
                    f'OpenCV {cv2.__version__} ships no Haar cascades '
                    '(cv2.data.haarcascades is missing; OpenCV 5 dropped '
                    'them): install opencv-python-headless<5 (see '
                    "requirements/common.txt), pass cascade_dir= or use "
                    "detector='lbp'")
        if isinstance(cascades, str):
            cascades = (cascades, )
        if not cascades:
            raise ValueError('HaarFaceDetector needs at least one cascade')
        self.faces = [self._load(cascade_dir, c) for c in cascades]
        self.face = self.faces[0]
        self.angles = tuple(float(a) for a in angles if float(a) != 0)
        self.nms_iou, self.blur = float(nms_iou), float(blur)
        self.eye = (self._load(cascade_dir, 'haarcascade_eye.xml')
                    if find_eyes else None)
        self.scale_factor, self.min_neighbors = scale_factor, min_neighbors
        self.min_size, self.equalize = int(min_size), equalize

    @staticmethod
    def _load(folder: str, name: str) -> 'cv2.CascadeClassifier':
        path = osp.join(folder, name)
        cascade = cv2.CascadeClassifier(path)
        if cascade.empty():
            raise RuntimeError(f'cannot load the Haar cascade {path}')
        return cascade

    def _eyes(self, gray: np.ndarray, box: np.ndarray) -> np.ndarray:
        """Eye centres (2, 2) in image pixels, NaN if not both found."""
        x1, y1, x2, y2 = box.astype(int)
        w = x2 - x1
        top, bottom = y1 + int(0.15 * w), y1 + int(0.6 * w)
        roi = gray[max(top, 0):bottom, max(x1, 0):x2]
        out = np.full((2, 2), np.nan, np.float32)
        if roi.size == 0:
            return out
        side = max(6, w // 8)
        hits = self.eye.detectMultiScale(roi, 1.1, 3,
                                         minSize=(side, side),
                                         maxSize=(w // 2, w // 2))
        centres = [(x1 + ex + ew / 2, max(top, 0) + ey + eh / 2, ew)
                   for ex, ey, ew, eh in hits]
        mid = (x1 + x2) / 2
        for k, keep in enumerate((lambda c: c[0] < mid,
                                  lambda c: c[0] >= mid)):
            side_hits = [c for c in centres if keep(c)]
            if not side_hits:
                return np.full((2, 2), np.nan, np.float32)
            best = max(side_hits, key=lambda c: c[2])  # largest on the side
            out[k] = best[:2]
        return out

    def _hits(self, gray: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Boxes ``(N, 4)`` and weights ``(N,)`` of every face cascade."""
        boxes, scores = [], []
        for cascade in self.faces:
            rects, _, weights = cascade.detectMultiScale3(
                gray, scaleFactor=self.scale_factor,
                minNeighbors=self.min_neighbors,
                minSize=(self.min_size, self.min_size),
                outputRejectLevels=True)
            if len(rects):
                r = np.asarray(rects, np.float32).reshape(-1, 4)
                boxes.append(np.concatenate([r[:, :2], r[:, :2] + r[:, 2:]],
                                            axis=1))
                scores.append(np.asarray(weights, np.float32).reshape(-1))
        if not boxes:
            return np.zeros((0, 4), np.float32), np.zeros(0, np.float32)
        return np.concatenate(boxes), np.concatenate(scores)

    def _rotated_hits(self, gray: np.ndarray, angle: float
                      ) -> Tuple[np.ndarray, np.ndarray]:
        """Hits on ``gray`` rotated by ``angle``, mapped back."""
        h, w = gray.shape
        mat = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        cos, sin = abs(mat[0, 0]), abs(mat[0, 1])
        nw, nh = int(np.ceil(h * sin + w * cos)), int(np.ceil(h * cos +
                                                            w * sin))
        mat[:, 2] += ((nw - w) / 2, (nh - h) / 2)
        rot = cv2.warpAffine(gray, mat, (nw, nh), flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_REPLICATE)
        boxes, scores = self._hits(rot)
        if len(boxes):
            back = cv2.invertAffineTransform(mat)
            centre = (boxes[:, :2] + boxes[:, 2:]) / 2
            centre = centre @ back[:, :2].T + back[:, 2]
            half = (boxes[:, 2:] - boxes[:, :2]) / 2
            boxes = np.concatenate([centre - half, centre + half], axis=1)
        return boxes.astype(np.float32), scores

    def detect(self, image: np.ndarray) -> FaceDetections:
        """Find frontal faces (and their eyes) in a BGR image."""
        image = _check_image(image)
        gray = image if image.ndim == 2 else cv2.cvtColor(
            image, cv2.COLOR_BGR2GRAY)
        if self.equalize:
            gray = cv2.equalizeHist(gray)
        seen = (cv2.GaussianBlur(gray, (0, 0), self.blur) if self.blur > 0
                else gray)
        boxes, scores = self._hits(seen)
        if self.angles:
            extra = [self._rotated_hits(seen, a) for a in self.angles]
            boxes = np.concatenate([boxes] + [b for b, _ in extra])
            scores = np.concatenate([scores] + [s for _, s in extra])
        if len(boxes) == 0:
            return FaceDetections.empty()
        if len(self.faces) > 1 or self.angles:
            keep = nms(boxes, scores, self.nms_iou)
            boxes, scores = boxes[keep], scores[keep]
        landmarks = np.full((len(boxes), 5, 2), np.nan, np.float32)
        if self.eye is not None:  # on the cascade's own boxes
            for i, box in enumerate(boxes):
                landmarks[i, :2] = self._eyes(gray, box)
        order = np.argsort(-scores, kind='stable')
        return FaceDetections(boxes[order], landmarks[order], scores[order])


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float = 0.3
        ) -> np.ndarray:
    """Indices kept by greedy non-maximum suppression, best first.

    A box is dropped if it overlaps a better kept one with IoU above
    ``iou`` or lies mostly (over 70 % of its area) inside it.
    """
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    area = np.prod(boxes[:, 2:] - boxes[:, :2], axis=1)
    keep = []
    for i in np.argsort(-np.asarray(scores), kind='stable'):
        if keep:
            k = np.asarray(keep)
            lt = np.maximum(boxes[k, :2], boxes[i, :2])
            rb = np.minimum(boxes[k, 2:], boxes[i, 2:])
            inter = np.prod(np.clip(rb - lt, 0, None), axis=1)
            union = area[k] + area[i] - inter
            if np.any(inter > iou * union) or \
                    np.any(inter > 0.7 * area[i]):
                continue
        keep.append(int(i))
    return np.asarray(keep, np.int64)


@FACE_DETECTORS.register_module()
class MTCNNFaceDetector:
    """facenet-pytorch's MTCNN (optional; 5 landmarks).

    facenet-pytorch 2.6.0 ships the MTCNN weights in its wheel. Its
    metadata pins ``torch<2.3`` and ``numpy<2``, but MTCNN runs on the
    pinned torch 2.14 / numpy 2 when installed without its pins:
    ``pip install --no-deps facenet-pytorch==2.6.0 requests`` (checked
    2026-12-02; it is not part of the tested set, and is imported only
    here).

    Args:
        min_face_size (int): Smallest face in pixels. Defaults to 20.
        thresholds (tuple): The three stages' thresholds. Defaults to
            ``(0.6, 0.7, 0.7)``.
        min_score (float): Drop faces below this probability. Defaults to
            0.9.
        device (str): Torch device. Defaults to ``'cpu'``.
    """

    def __init__(self, min_face_size: int = 20,
                 thresholds=(0.6, 0.7, 0.7), min_score: float = 0.9,
                 device: str = 'cpu') -> None:
        try:
            from facenet_pytorch import MTCNN
        except ImportError as e:
            raise ImportError(
                'MTCNNFaceDetector needs facenet-pytorch (`pip install '
                '--no-deps facenet-pytorch==2.6.0 requests`: its pins '
                'torch<2.3 and numpy<2 are not needed for MTCNN), or use '
                "detector='yuface', 'haar' or 'lbp'") from e
        self.mtcnn = MTCNN(keep_all=True, min_face_size=min_face_size,
                           thresholds=list(thresholds), device=device)
        self.min_score = min_score

    def detect(self, image: np.ndarray) -> FaceDetections:
        """Find faces and their 5 landmarks in a BGR image."""
        image = _check_image(image)
        if image.ndim == 2:
            image = np.repeat(image[..., None], 3, axis=2)
        rgb = np.ascontiguousarray(image[..., ::-1])
        boxes, probs, points = self.mtcnn.detect(rgb, landmarks=True)
        if boxes is None:
            return FaceDetections.empty()
        keep = np.asarray(probs) >= self.min_score
        return as_detections((np.asarray(boxes)[keep],
                              np.asarray(points)[keep],
                              np.asarray(probs)[keep]), 'MTCNN')


@FACE_DETECTORS.register_module()
class WholeImageDetector:
    """The whole image is one face (for crops that are already aligned)."""

    def detect(self, image: np.ndarray) -> FaceDetections:
        """One box covering ``image``, no landmarks, score 1."""
        h, w = _check_image(image).shape[:2]
        return as_detections(([[0, 0, w, h]], None, [1.0]))


#: What :func:`~.auto.build_face_detector` takes.
DetectorSpec = Union[None, str, dict, Any]
