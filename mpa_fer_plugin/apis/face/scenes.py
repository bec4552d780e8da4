"""Test scenes: face images pasted at known positions into clutter.

The scene builder takes the faces as arrays (e.g. generated faces read
from disk, or photos), so it does not depend on how they were made. Each
face is pasted as a whole image, optionally inside an elliptical mask, at a
random non-overlapping position and size over a background of random
shapes, lines and noise; the ground-truth box is the face region inside
the pasted image (``face_box``, fractions of the face image).
"""
from typing import List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from .tracking import box_iou


def clutter(height: int, width: int, rng: np.random.Generator,
            shapes: int = 40) -> np.ndarray:
    """A BGR background of random rectangles, circles, lines and noise."""
    img = np.empty((height, width, 3), np.uint8)
    img[:] = rng.integers(40, 220, 3)
    for _ in range(shapes):
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        s = int(rng.integers(4, max(5, min(height, width) // 5)))
        kind = rng.integers(0, 3)
        if kind == 0:
            cv2.rectangle(img, (x, y), (x + s, y + int(s * rng.uniform(
                0.3, 2))), color, -1)
        elif kind == 1:
            cv2.circle(img, (x, y), s // 2, color, -1, cv2.LINE_AA)
        else:
            x2, y2 = rng.integers(0, width), rng.integers(0, height)
            cv2.line(img, (x, y), (int(x2), int(y2)), color,
                     int(rng.integers(1, 4)), cv2.LINE_AA)
    noise = rng.normal(0, 6, img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def make_scene(faces: Sequence[np.ndarray],
               rng: np.random.Generator,
               size: Tuple[int, int] = (360, 480),
               face_sizes: Tuple[int, int] = (80, 120),
               face_box: Union[Sequence[float],
                               Sequence[Sequence[float]]] = (0, 0, 1, 1),
               ellipse: bool = False,
               background: Optional[np.ndarray] = None,
               max_tries: int = 200) -> Tuple[np.ndarray, np.ndarray]:
    """Paste ``faces`` into one cluttered scene at known positions.

    Args:
        faces (Sequence[np.ndarray]): BGR face images (any size; resized).
        rng (np.random.Generator): Source of positions, sizes and clutter.
        size (tuple[int, int]): Scene ``(height, width)``.
        face_sizes (tuple[int, int]): Range of pasted sides in pixels.
        face_box (tuple): The face inside each face image as fractions
            ``x1, y1, x2, y2`` (default: the whole image), or one such
            box per face (``(N, 4)``).
        ellipse (bool): Paste through an elliptical mask inscribed in
            ``face_box`` (drops the face image's own background).
        background (np.ndarray, optional): Use this instead of clutter.
        max_tries (int): Placement attempts per face.

    Returns:
        tuple[np.ndarray, np.ndarray]: The scene and the ``(N, 4)``
        ground-truth face boxes.
    """
    h, w = size
    scene = (clutter(h, w, rng) if background is None else
             cv2.resize(background, (w, h)))
    placed: List[np.ndarray] = []
    boxes: List[List[float]] = []
    fboxes = np.asarray(face_box, np.float64)
    if fboxes.ndim == 1:
        fboxes = np.tile(fboxes, (len(faces), 1))
    if fboxes.shape != (len(faces), 4):
        raise ValueError(f'face_box has shape {fboxes.shape}; expected (4,) '
                         f'or ({len(faces)}, 4)')
    for face, (fx1, fy1, fx2, fy2) in zip(faces, fboxes):
        for _ in range(max_tries):
            s = int(rng.integers(face_sizes[0], face_sizes[1] + 1))
            if s >= min(h, w):
                raise ValueError(f'face side {s} does not fit a {w}x{h} '
                                 'scene')
            x, y = int(rng.integers(0, w - s)), int(rng.integers(0, h - s))
            cell = np.array([[x, y, x + s, y + s]], np.float64)
            if not placed or box_iou(cell, np.stack(placed)).max() == 0:
                break
        else:
            raise ValueError(f'cannot place {len(faces)} faces of '
                             f'{face_sizes} px in a {w}x{h} scene')
        placed.append(cell[0])
        patch = cv2.resize(face, (s, s), interpolation=cv2.INTER_AREA
                           if face.shape[0] > s else cv2.INTER_CUBIC)
        if ellipse:
            mask = np.zeros((s, s), np.float32)
            cv2.ellipse(mask, (int(s * (fx1 + fx2) / 2),
                               int(s * (fy1 + fy2) / 2)),
                        (int(s * (fx2 - fx1) / 2), int(s * (fy2 - fy1) / 2)),
                        0, 0, 360, 1.0, -1, cv2.LINE_AA)
            roi = scene[y:y + s, x:x + s].astype(np.float32)
            m = mask[..., None]
            scene[y:y + s, x:x + s] = (m * patch + (1 - m) * roi).astype(
                np.uint8)
        else:
            scene[y:y + s, x:x + s] = patch
        boxes.append([x + fx1 * s, y + fy1 * s, x + fx2 * s, y + fy2 * s])
    return scene, np.asarray(boxes, np.float32).reshape(-1, 4)


def match_boxes(pred: np.ndarray, truth: np.ndarray,
                iou_threshold: float = 0.5) -> List[Optional[int]]:
    """Greedy one-to-one matching of true boxes to predicted ones.

    Returns:
        list[int | None]: For each true box, the index of its predicted
        box (IoU at least ``iou_threshold``), or None if missed.
    """
    out: List[Optional[int]] = [None] * len(truth)
    if len(pred) == 0 or len(truth) == 0:
        return out
    iou = box_iou(truth, pred)
    used = set()
    for flat in np.argsort(-iou, axis=None, kind='stable'):
        i, j = divmod(int(flat), iou.shape[1])
        if iou[i, j] < iou_threshold:
            break
        if out[i] is None and j not in used:
            out[i] = j
            used.add(j)
    return out
