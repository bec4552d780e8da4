"""Procedurally drawn cartoon faces for tests and the offline demo.

Each image is a frontal face drawn with OpenCV primitives whose brows, eyes,
mouth and wrinkles follow the prototypical action units of one expression
(e.g. happiness: lip corners up, cheeks raised, nasolabial folds). Pose,
scale, skin and background colour, expression intensity, noise and an
occluder are randomised, so a model has to look at the facial features.

Every image is drawn from its own generator seeded with ``(seed, split,
index)``, so a dataset is reproducible byte for byte and independent of the
order in which images are drawn. :func:`generate_synthetic_fer` writes the
images in the official RAF-DB layout, which :class:`~.RAFDB` reads.
"""
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from mmengine.logging import print_log

from .categories import FER7_CLASSES, FER8_CLASSES, RAFDB_NATIVE_EXT

# Expression parameters in face coordinates (x in [-1, 1] across the face,
# y in [-1, 1] from forehead to chin). Values are the full-intensity offsets
# from the neutral face; each image scales them by a random intensity.
#   brow: whole-brow raise, extra raise of the inner end, inner-end shift
#         towards the midline; eye: opening factor (1 = relaxed);
#   mouth: shape name and (half-width, corner lift, opening);
#   marks: wrinkles and folds to draw.
_EXPRESSIONS: Dict[str, dict] = {
    'Neutral': dict(brow=(0.0, 0.0, 0.0), eye=1.0,
                    mouth=('curve', 0.25, 0.0, 0.0), marks=()),
    'Happiness': dict(brow=(0.02, 0.0, 0.0), eye=0.55,
                      mouth=('curve', 0.36, 0.16, 0.09),
                      marks=('nasolabial', 'cheeks')),
    'Sadness': dict(brow=(0.0, 0.16, 0.03), eye=0.75,
                    mouth=('curve', 0.26, -0.13, 0.0), marks=('chin',)),
    'Surprise': dict(brow=(0.16, 0.0, 0.0), eye=1.55,
                     mouth=('round', 0.13, 0.0, 0.2), marks=('forehead',)),
    'Anger': dict(brow=(-0.08, -0.14, 0.09), eye=0.7,
                  mouth=('pressed', 0.2, -0.03, 0.0), marks=('glabella',)),
    'Disgust': dict(brow=(-0.05, -0.05, 0.04), eye=0.6,
                    mouth=('sneer', 0.24, 0.0, 0.08),
                    marks=('nose', 'nasolabial')),
    'Fear': dict(brow=(0.11, 0.08, 0.07), eye=1.45,
                 mouth=('stretch', 0.38, -0.03, 0.1),
                 marks=('forehead',)),
    'Contempt': dict(brow=(0.0, 0.0, 0.0), eye=0.95,
                     mouth=('smirk', 0.26, 0.14, 0.0), marks=('dimple',)),
}
_NEUTRAL = _EXPRESSIONS['Neutral']


class _FaceCanvas:
    """Maps face coordinates to pixels and draws with anti-aliasing."""

    def __init__(self, img: np.ndarray, center: Tuple[float, float],
                 half: Tuple[float, float], ink: Tuple[int, ...],
                 unit: float) -> None:
        self.img, self.center, self.half = img, center, half
        self.ink, self.unit = ink, unit

    def pts(self, xy: np.ndarray) -> np.ndarray:
        """Convert an ``(N, 2)`` array of face coordinates to pixels."""
        px = np.empty_like(xy, dtype=np.float64)
        px[:, 0] = self.center[0] + xy[:, 0] * self.half[0]
        px[:, 1] = self.center[1] + xy[:, 1] * self.half[1]
        return np.round(px * 16).astype(np.int32)  # 4 fractional bits

    def line(self, xy, width: float, color=None) -> None:
        """Draw an open polyline ``width`` units thick."""
        thick = max(1, int(round(width * self.unit)))
        cv2.polylines(self.img, [self.pts(np.asarray(xy))], False,
                      color or self.ink, thick, cv2.LINE_AA, shift=4)

    def fill(self, xy, color) -> None:
        """Fill a polygon."""
        cv2.fillPoly(self.img, [self.pts(np.asarray(xy))], color,
                     cv2.LINE_AA, shift=4)


def _curve(x0: float, x1: float, fn, n: int = 12) -> np.ndarray:
    """``n`` points ``(x, fn(x))`` for ``x`` from ``x0`` to ``x1``."""
    xs = np.linspace(x0, x1, n)
    return np.stack([xs, fn(xs)], axis=1)


def _ellipse(cx: float, cy: float, rx: float, ry: float,
             n: int = 24) -> np.ndarray:
    """``n`` points on an axis-aligned ellipse."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def _draw_brows_and_eyes(cv: _FaceCanvas, p: dict) -> None:
    """Eyes (sclera, iris, upper lid) and brows."""
    raise_, inner, gap = p['brow']
    eye_y, eye_x = p['eye_y'], p['eye_x']
    for side in (-1, 1):
        # Eye: sclera, iris and an upper lid line.
        rx, ry = 0.17, 0.085 * p['eye']
        cx = side * eye_x
        cv.fill(_ellipse(cx, eye_y, rx, ry), (235, 235, 235))
        iris = min(0.075, ry * 0.95)
        cv.fill(_ellipse(cx + p['gaze'], eye_y, iris * 0.8, iris),
                p['iris'])
        cv.line(_curve(cx - rx, cx + rx,
                       lambda x: eye_y - ry * np.sqrt(
                           np.clip(1 - ((x - cx) / rx)**2, 0, 1))), 0.03)
        # Brow: straight-ish arc from the inner to the outer end.
        x_in, x_out = side * (0.14 - gap), side * 0.6
        y_base = eye_y - 0.26 - raise_
        y_in, y_out = y_base - inner, y_base + 0.02
        xs = np.linspace(x_in, x_out, 10)
        f = (xs - x_in) / (x_out - x_in)
        ys = y_in + (y_out - y_in) * f - 0.05 * np.sin(np.pi * f)
        cv.line(np.stack([xs, ys], axis=1), p['brow_w'])


def _draw_mouth(cv: _FaceCanvas, p: dict) -> None:
    """The mouth shape of the expression."""
    kind, w, lift, opening = p['mouth']
    y0, lip, dark = p['mouth_y'], p['lip'], (40, 30, 60)
    if kind in ('curve', 'pressed'):
        upper = _curve(-w, w, lambda x: y0 - lift * (x / w)**2, 16)
        if opening > 0.02:
            lower = _curve(w, -w, lambda x: y0 - lift * (x / w)**2 +
                           opening * (1 - (x / w)**2), 16)
            cv.fill(np.concatenate([upper, lower]), dark)
            teeth = _curve(w * 0.8, -w * 0.8, lambda x: y0 - lift *
                           (x / w)**2 + 0.45 * opening * (1 - (x / w)**2))
            cv.fill(np.concatenate([upper[2:-2], teeth]), (245, 245, 245))
            cv.line(np.concatenate([upper, lower, upper[:1]]), 0.03, lip)
        else:
            cv.line(upper, 0.09 if kind == 'pressed' else 0.05,
                    dark if kind == 'pressed' else lip)
    elif kind == 'round':
        ring = _ellipse(0.0, y0 + 0.03, w, opening)
        cv.fill(ring, dark)
        cv.line(np.concatenate([ring, ring[:1]]), 0.04, lip)
    elif kind == 'stretch':
        top = _curve(-w, w, lambda x: y0 - 0.3 * opening +
                     lift * np.abs(x / w)**3, 16)
        bot = _curve(w, -w, lambda x: y0 + opening * (1 - 0.5 *
                                                      (x / w)**4), 16)
        cv.fill(np.concatenate([top, bot]), dark)
        cv.line(np.concatenate([top, bot, top[:1]]), 0.03, lip)
    elif kind == 'sneer':
        # Raised upper lip: an arch over the teeth, flat lower lip.
        top = _curve(-w, w, lambda x: y0 - opening * (1 - np.abs(x / w)**1.5)
                     - 0.02, 16)
        bot = _curve(w, -w, lambda x: np.full_like(x, y0 + 0.03), 16)
        cv.fill(np.concatenate([top, bot]), (235, 235, 235))
        cv.line(top, 0.05, lip)
        cv.line(bot, 0.05, lip)
    elif kind == 'smirk':
        s = p['side']
        line = _curve(-w, w, lambda x: y0 - lift * np.clip(s * x / w, 0, 1)**2
                      + 0.02 * np.clip(-s * x / w, 0, 1), 16)
        cv.line(line, 0.05, lip)
    else:  # pragma: no cover - table is fixed
        raise ValueError(f'unknown mouth shape {kind!r}')


def _draw_marks(cv: _FaceCanvas, p: dict) -> None:
    """Wrinkles and folds (nasolabial, forehead, glabella, ...)."""
    y0 = p['mouth_y']
    for mark in p['marks']:
        if mark == 'nasolabial':
            for s in (-1, 1):
                cv.line(np.stack([s * np.linspace(0.2, 0.42, 6),
                                  np.linspace(0.12, y0 + 0.05, 6)], 1),
                        0.035)
        elif mark == 'cheeks':
            for s in (-1, 1):
                cx = s * p['eye_x']
                cv.line(_curve(cx - 0.15, cx + 0.15, lambda x: p['eye_y'] +
                               0.17 - 0.06 * np.cos((x - cx) * 10), 8), 0.03)
        elif mark == 'forehead':
            for k in range(3):
                y = -0.78 + 0.1 * k
                cv.line(_curve(-0.42, 0.42, lambda x: y + 0.03 * np.cos(
                    x * 4), 12), 0.025)
        elif mark == 'glabella':
            for s in (-1, 1):
                cv.line([[s * 0.05, -0.5], [s * 0.04, -0.36]], 0.03)
        elif mark == 'nose':
            for k in range(3):
                y = -0.14 + 0.07 * k
                cv.line([[-0.12, y + 0.02], [0.0, y], [0.12, y + 0.02]],
                        0.03)
        elif mark == 'chin':
            cv.line(_curve(-0.12, 0.12, lambda x: y0 + 0.22 - 0.4 * x**2, 8),
                    0.03)
        elif mark == 'dimple':
            s = p['side']
            cv.line([[s * 0.3, y0 - 0.13], [s * 0.34, y0 - 0.02]], 0.035)


def _sample_params(expression: str, rng: np.random.Generator) -> dict:
    """Draw the per-image geometry for one expression."""
    spec = _EXPRESSIONS[expression]
    t = rng.uniform(0.7, 1.0)  # expression intensity

    def mix(key, idx=None):
        a, b = spec[key], _NEUTRAL[key]
        if idx is not None:
            a, b = a[idx], b[idx]
        return b + t * (a - b)

    kind, w, lift, opening = spec['mouth']
    jit = rng.normal(0.0, 1.0, 8)
    return dict(
        brow=tuple(mix('brow', i) + 0.015 * jit[i] for i in range(3)),
        eye=mix('eye') * (1 + 0.08 * jit[3]),
        eye_y=-0.18 + 0.03 * jit[4], eye_x=0.37 + 0.02 * jit[5],
        mouth_y=0.5 + 0.03 * jit[6],
        mouth=(kind, w * (1 + 0.06 * jit[7]), t * lift, t * opening),
        marks=spec['marks'], side=rng.choice((-1, 1)),
        gaze=rng.uniform(-0.04, 0.04), brow_w=rng.uniform(0.06, 0.09),
        iris=tuple(int(c) for c in rng.integers(20, 110, 3)),
        lip=tuple(int(c) for c in (rng.integers(60, 110),
                                   rng.integers(50, 90),
                                   rng.integers(140, 200))))


def render_face(expression: str, rng: np.random.Generator,
                size: int = 100) -> np.ndarray:
    """Draw one face showing ``expression``.

    Args:
        expression (str): A name from
            :data:`~mpa_fer_plugin.datasets.categories.FER_CLASSES`.
        rng (np.random.Generator): Source of all random choices.
        size (int): Output side length in pixels. Defaults to ``100``.

    Returns:
        np.ndarray: A ``(size, size, 3)`` uint8 BGR image.
    """
    if expression not in _EXPRESSIONS:
        raise ValueError(f'unknown expression {expression!r}; expected one '
                         f'of {tuple(_EXPRESSIONS)}')
    s = 2 * size  # draw at 2x, then downsample for smooth edges
    bg = rng.integers(0, 256, 3)
    img = np.empty((s, s, 3), np.uint8)
    img[:] = bg
    tone = rng.uniform(0.0, 1.0)  # dark to light skin
    skin = np.array([60 + 150 * tone, 90 + 135 * tone, 120 + 125 * tone])
    skin = tuple(int(c) for c in np.clip(skin + rng.normal(0, 8, 3), 0, 255))
    ink = tuple(int(c * 0.35) for c in skin)
    center, half = (s / 2, s * 0.5), (s * 0.35, s * 0.44)
    hair = tuple(int(c) for c in rng.integers(10, 120, 3))
    if rng.random() < 0.7:  # hair cap behind the forehead
        cv2.ellipse(img, (int(center[0]), int(center[1] - half[1] * 0.25)),
                    (int(half[0] * 1.12), int(half[1] * 0.95)), 0, 180, 360,
                    hair, -1, cv2.LINE_AA)
    cv2.ellipse(img, (int(center[0]), int(center[1])),
                (int(half[0]), int(half[1])), 0, 0, 360, skin, -1,
                cv2.LINE_AA)
    cv = _FaceCanvas(img, center, half, ink, unit=half[0])
    p = _sample_params(expression, rng)
    cv.line([[0.0, -0.05], [-0.06, 0.2], [0.04, 0.22]], 0.035)  # nose
    _draw_brows_and_eyes(cv, p)
    _draw_mouth(cv, p)
    _draw_marks(cv, p)

    # Pose: in-plane rotation, scale and shift, background colour at borders.
    angle = rng.uniform(-8, 8)
    scale = rng.uniform(0.92, 1.05)
    mat = cv2.getRotationMatrix2D((s / 2, s / 2), angle, scale)
    mat[:, 2] += rng.uniform(-0.04, 0.04, 2) * s
    img = cv2.warpAffine(img, mat, (s, s), flags=cv2.INTER_LINEAR,
                         borderValue=tuple(int(c) for c in bg))
    if rng.random() < 0.15:  # occluder (hand, object) off the central band
        ox, oy = rng.integers(0, s, 2)
        r = int(rng.uniform(0.08, 0.16) * s)
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        cv2.circle(img, (int(ox), int(oy)), r, color, -1, cv2.LINE_AA)
    img = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)
    light = rng.uniform(0.8, 1.15)
    noise = rng.normal(0.0, rng.uniform(2, 8), img.shape)
    return np.clip(img * light + noise, 0, 255).astype(np.uint8)


def _class_counts(num: int, weights: Sequence[float]) -> np.ndarray:
    """Split ``num`` into per-class counts by the largest-remainder rule."""
    w = np.asarray(weights, dtype=np.float64)
    exact = num * w / w.sum()
    counts = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - counts), kind='stable')
    counts[order[:num - counts.sum()]] += 1
    return counts


def synthetic_labels(num: int, num_classes: int, seed: int, split: str,
                     class_weights: Optional[Sequence[float]] = None
                     ) -> np.ndarray:
    """Return shuffled canonical labels with the requested class balance.

    Args:
        num (int): Number of images.
        num_classes (int): ``7`` or ``8`` (with Contempt).
        seed (int): Random seed.
        split (str): ``'train'`` or ``'test'``; seeds a separate stream.
        class_weights (Sequence[float], optional): Relative class
            frequencies in canonical order; ``None`` means balanced.

    Returns:
        np.ndarray: ``num`` canonical label indices.
    """
    if class_weights is None:
        class_weights = [1.0] * num_classes
    if (len(class_weights) != num_classes
            or any(w < 0 for w in class_weights) or sum(class_weights) <= 0):
        raise ValueError(f'class_weights={tuple(class_weights)} must be '
                         f'{num_classes} non-negative numbers, not all zero')
    counts = _class_counts(num, class_weights)
    labels = np.repeat(np.arange(num_classes), counts)
    rng = np.random.default_rng([seed, _SPLIT_IDS[split], 1])
    return rng.permutation(labels)


_SPLIT_IDS = {'train': 0, 'test': 1}


def generate_synthetic_fer(out_dir: str, num_train: int = 700,
                           num_test: int = 140, size: int = 100,
                           seed: int = 0, num_classes: int = 7,
                           class_weights: Optional[Sequence[float]] = None,
                           quality: int = 95) -> Dict[str, List[int]]:
    """Write a synthetic FER dataset in the official RAF-DB layout.

    The layout is ``EmoLabel/list_patition_label.txt`` plus
    ``Image/aligned/{train_00001,test_0001}_aligned.jpg``. Labels use RAF-DB
    codes 1-7; with ``num_classes=8`` Contempt is written as the extra code
    8, which ``RAFDB(num_classes=8)`` accepts.

    Args:
        out_dir (str): Output root; created if needed.
        num_train (int): Number of training images. Defaults to ``700``.
        num_test (int): Number of test images. Defaults to ``140``.
        size (int): Image side length. Defaults to ``100`` (RAF-DB aligned).
        seed (int): Random seed; equal seeds give identical files.
            Defaults to ``0``.
        num_classes (int): ``7`` basic expressions or ``8`` with Contempt.
            Defaults to ``7``.
        class_weights (Sequence[float], optional): Relative class
            frequencies in canonical (``FER_CLASSES``) order. Defaults to
            ``None`` (balanced).
        quality (int): JPEG quality. Defaults to ``95``.

    Returns:
        dict[str, list[int]]: Per-split image counts per canonical class.
    """
    if num_classes not in (7, 8):
        raise ValueError(f'num_classes={num_classes} must be 7 or 8')
    if num_train < 0 or num_test < 0:
        raise ValueError(f'num_train={num_train} and num_test={num_test} '
                         'must be >= 0')
    if size < 16:
        raise ValueError(f'size={size} must be >= 16')
    classes = FER7_CLASSES if num_classes == 7 else FER8_CLASSES
    code_of = {name: i + 1 for i, name in enumerate(RAFDB_NATIVE_EXT)}
    img_dir = osp.join(out_dir, 'Image', 'aligned')
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(osp.join(out_dir, 'EmoLabel'), exist_ok=True)
    lines, summary = [], {}
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)]
    for split, num in (('train', num_train), ('test', num_test)):
        labels = synthetic_labels(num, num_classes, seed, split,
                                  class_weights)
        digits = max(5 if split == 'train' else 4, len(str(num)))
        for i, label in enumerate(labels):
            stem = f'{split}_{i + 1:0{digits}d}'
            rng = np.random.default_rng([seed, _SPLIT_IDS[split], 0, i])
            img = render_face(classes[label], rng, size)
            ok, buf = cv2.imencode('.jpg', img, params)
            if not ok:  # pragma: no cover - cv2 failure
                raise RuntimeError(f'could not encode {stem}')
            with open(osp.join(img_dir, f'{stem}_aligned.jpg'), 'wb') as f:
                f.write(buf.tobytes())
            lines.append(f'{stem}.jpg {code_of[classes[label]]}')
        summary[split] = np.bincount(labels, minlength=num_classes).tolist()
    label_file = osp.join(out_dir, 'EmoLabel', 'list_patition_label.txt')
    with open(label_file, 'w', encoding='utf-8') as f:
        f.write('\n'.join(lines) + ('\n' if lines else ''))
    print_log(f'synthetic FER: wrote {num_train} train / {num_test} test '
              f'{size}x{size} images ({num_classes} classes, seed {seed}) '
              f'to {out_dir}', logger='current')
    return summary
