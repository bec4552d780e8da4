"""Drawing of the demo world's faces and their facial-region masks.

Each face is a cartoon whose brows, eyes, nose, mouth and wrinkles follow
the prototypical action units (AUs) of one expression. The world is built
so that the MPA-FER mechanisms have something to do:

* **confusable pairs**: Fear and Surprise share raised brows, wide eyes and
  forehead wrinkles and differ only at the mouth (lips stretched sideways,
  AU20, vs. a round open mouth, AU25+26); Anger and Disgust share lowered
  knitted brows, the furrows between them and narrowed eyes and differ at
  the nose and mouth (a wrinkled nose and raised upper lip, AU9+10, vs.
  lips pressed thin, AU23+24); Sadness differs from Neutral by the lip
  corners (AU15) and a slight inner-brow raise (AU1);
* **a small face in clutter**: the face's bounding box covers 30-60 % of
  the frame at a random position, over random shapes, with random
  expression intensity, rotation, skin and background colours, glasses
  and occluders (hands, bars) in front;
* **region masks**: every face comes with a bit mask of its facial regions
  (:data:`REGION_NAMES`), drawn in face coordinates and warped with the
  face, for the CGLA pointing measure.

A ``shift`` (``'intensity'``, ``'pose'``, ``'palette'``) draws faces from a
shifted distribution (weaker expressions, stronger rotation and yaw,
unusual skin and background colours) for train/test-shift experiments.
"""
from typing import Dict, Optional, Sequence, Tuple

import cv2
import numpy as np

#: Facial regions of the masks; region ``i`` is bit ``1 << i``.
REGION_NAMES = ('brows', 'eyes', 'nose', 'mouth', 'cheeks')
#: Regions each expression moves (where its action units are drawn); the
#: pointing measure counts top-k patches inside them. Neutral moves none.
MOVED_REGIONS: Dict[str, Tuple[str, ...]] = {
    'Anger': ('brows', 'eyes', 'mouth'),
    'Disgust': ('brows', 'eyes', 'nose', 'mouth'),
    'Fear': ('brows', 'eyes', 'mouth'),
    'Sadness': ('brows', 'mouth'),
    'Happiness': ('eyes', 'mouth', 'cheeks'),
    'Surprise': ('brows', 'eyes', 'mouth'),
    'Neutral': (),
    'Contempt': ('mouth', 'cheeks'),
}
#: Distribution shifts :func:`render_face` accepts.
SHIFTS = ('intensity', 'pose', 'palette')

# Full-intensity offsets from the neutral face, in face coordinates (x in
# [-1, 1] across the face, y in [-1, 1] from forehead to chin).
#   brow: (whole-brow raise, extra inner-end raise, inner-end shift to the
#         midline); eye: opening factor (1 = relaxed);
#   mouth: (shape, half-width, corner lift, opening); marks: wrinkles.
_EXPRESSIONS: Dict[str, dict] = {
    'Neutral': dict(brow=(0.0, 0.0, 0.0), eye=1.0,
                    mouth=('curve', 0.25, 0.0, 0.0), marks=()),
    'Happiness': dict(brow=(0.02, 0.0, 0.0), eye=0.6,
                      mouth=('curve', 0.36, 0.16, 0.09),
                      marks=('nasolabial', 'cheeks')),
    'Sadness': dict(brow=(0.0, 0.08, 0.02), eye=0.85,
                    mouth=('curve', 0.26, -0.12, 0.0), marks=('chin',)),
    'Surprise': dict(brow=(0.15, 0.02, 0.0), eye=1.5,
                     mouth=('round', 0.13, 0.0, 0.2), marks=('forehead',)),
    'Fear': dict(brow=(0.15, 0.02, 0.0), eye=1.5,
                 mouth=('stretch', 0.37, -0.03, 0.08), marks=('forehead',)),
    'Anger': dict(brow=(-0.08, -0.1, 0.08), eye=0.65,
                  mouth=('pressed', 0.2, -0.02, 0.0), marks=('glabella',)),
    'Disgust': dict(brow=(-0.08, -0.1, 0.08), eye=0.65,
                    mouth=('sneer', 0.23, 0.0, 0.08),
                    marks=('glabella', 'nose')),
    'Contempt': dict(brow=(0.0, 0.0, 0.0), eye=0.95,
                     mouth=('smirk', 0.26, 0.14, 0.0), marks=('dimple',)),
}
_NEUTRAL = _EXPRESSIONS['Neutral']
_DARK = (40, 30, 60)


class _Canvas:
    """Draws in face coordinates (anti-aliased) on an image or a mask."""

    def __init__(self, img: np.ndarray, center: Tuple[float, float],
                 half: Tuple[float, float], ink: Tuple[int, ...]) -> None:
        self.img, self.center, self.half, self.ink = img, center, half, ink

    def pts(self, xy) -> np.ndarray:
        xy = np.asarray(xy, dtype=np.float64)
        px = np.stack([self.center[0] + xy[:, 0] * self.half[0],
                       self.center[1] + xy[:, 1] * self.half[1]], 1)
        return np.round(px * 16).astype(np.int32)  # 4 fractional bits

    def line(self, xy, width: float, color=None) -> None:
        thick = max(1, int(round(width * self.half[0])))
        cv2.polylines(self.img, [self.pts(xy)], False, color or self.ink,
                      thick, cv2.LINE_AA, shift=4)

    def fill(self, xy, color) -> None:
        cv2.fillPoly(self.img, [self.pts(xy)], color, cv2.LINE_AA, shift=4)


def _curve(x0: float, x1: float, fn, n: int = 12) -> np.ndarray:
    xs = np.linspace(x0, x1, n)
    return np.stack([xs, fn(xs)], axis=1)


def _ellipse(cx: float, cy: float, rx: float, ry: float,
             n: int = 24) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def _sample_params(expression: str, rng: np.random.Generator,
                   shift: Sequence[str]) -> dict:
    """Per-face geometry: the expression at a random intensity plus
    idiosyncratic offsets every face has (so weak expressions blur)."""
    spec = _EXPRESSIONS[expression]
    lo, hi = (0.25, 0.6) if 'intensity' in shift else (0.35, 1.0)
    t = rng.uniform(lo, hi)

    def mix(a, b):
        return b + t * (a - b)

    kind, w, lift, opening = spec['mouth']
    jit = rng.normal(0.0, 1.0, 10)
    brow = [mix(a, b) for a, b in zip(spec['brow'], _NEUTRAL['brow'])]
    brow[0] += 0.025 * jit[0]
    brow[1] += 0.015 * jit[1]
    brow[2] += 0.012 * jit[2]
    return dict(
        brow=tuple(brow), eye=mix(spec['eye'], 1.0) * (1 + 0.1 * jit[3]),
        eye_y=-0.18 + 0.03 * jit[4], eye_x=0.37 + 0.02 * jit[5],
        mouth_y=0.5 + 0.03 * jit[6],
        mouth=(kind, w * (1 + 0.08 * jit[7]), t * lift + 0.02 * jit[8],
               t * opening),
        marks=spec['marks'], side=rng.choice((-1, 1)),
        gaze=rng.uniform(-0.04, 0.04), brow_w=rng.uniform(0.06, 0.1),
        yaw=rng.uniform(-0.12, 0.12) if 'pose' in shift else
        rng.uniform(-0.05, 0.05),
        iris=tuple(int(c) for c in rng.integers(20, 110, 3)),
        lip=tuple(int(c) for c in (rng.integers(60, 110),
                                   rng.integers(50, 90),
                                   rng.integers(140, 200))))


def _draw_eyes_brows(cv: _Canvas, p: dict) -> None:
    raise_, inner, gap = p['brow']
    eye_y, eye_x = p['eye_y'], p['eye_x']
    for side in (-1, 1):
        rx, ry = 0.17, 0.085 * p['eye']
        cx = side * eye_x + p['yaw']
        cv.fill(_ellipse(cx, eye_y, rx, ry), (235, 235, 235))
        iris = min(0.075, ry * 0.95)
        cv.fill(_ellipse(cx + p['gaze'], eye_y, iris * 0.8, iris), p['iris'])
        cv.line(_curve(cx - rx, cx + rx, lambda x: eye_y - ry * np.sqrt(
            np.clip(1 - ((x - cx) / rx)**2, 0, 1))), 0.03)
        x_in, x_out = side * (0.14 - gap) + p['yaw'], side * 0.6 + p['yaw']
        y_base = eye_y - 0.26 - raise_
        y_in, y_out = y_base - inner, y_base + 0.02
        xs = np.linspace(x_in, x_out, 10)
        f = (xs - x_in) / (x_out - x_in)
        ys = y_in + (y_out - y_in) * f - 0.05 * np.sin(np.pi * f)
        cv.line(np.stack([xs, ys], axis=1), p['brow_w'])


def _draw_mouth(cv: _Canvas, p: dict) -> None:
    kind, w, lift, opening = p['mouth']
    y0, lip, x0 = p['mouth_y'], p['lip'], p['yaw']
    if kind in ('curve', 'pressed'):
        upper = _curve(-w, w, lambda x: y0 - lift * (x / w)**2, 16)
        if opening > 0.02:
            lower = _curve(w, -w, lambda x: y0 - lift * (x / w)**2 +
                           opening * (1 - (x / w)**2), 16)
            teeth = _curve(w * 0.8, -w * 0.8, lambda x: y0 - lift *
                           (x / w)**2 + 0.45 * opening * (1 - (x / w)**2))
            cv.fill(np.concatenate([upper, lower]) + [x0, 0], _DARK)
            cv.fill(np.concatenate([upper[2:-2], teeth]) + [x0, 0],
                    (245, 245, 245))
        else:
            cv.line(upper + [x0, 0], 0.09 if kind == 'pressed' else 0.05,
                    _DARK if kind == 'pressed' else lip)
    elif kind == 'round':
        ring = _ellipse(x0, y0 + 0.03, w, max(opening, 0.03))
        cv.fill(ring, _DARK)
        cv.line(np.concatenate([ring, ring[:1]]), 0.04, lip)
    elif kind == 'stretch':
        top = _curve(-w, w, lambda x: y0 - 0.3 * opening +
                     lift * np.abs(x / w)**3, 16) + [x0, 0]
        bot = _curve(w, -w, lambda x: y0 + opening * (
            1 - 0.5 * (x / w)**4), 16) + [x0, 0]
        cv.fill(np.concatenate([top, bot]), _DARK)
        cv.line(np.concatenate([top, bot, top[:1]]), 0.03, lip)
    elif kind == 'sneer':
        top = _curve(-w, w, lambda x: y0 - opening * (
            1 - np.abs(x / w)**1.5) - 0.02, 16) + [x0, 0]
        bot = _curve(w, -w, lambda x: np.full_like(x, y0 + 0.03),
                     16) + [x0, 0]
        cv.fill(np.concatenate([top, bot]), (235, 235, 235))
        cv.line(top, 0.05, lip)
        cv.line(bot, 0.05, lip)
    else:  # smirk
        s = p['side']
        cv.line(_curve(-w, w, lambda x: y0 - lift * np.clip(
            s * x / w, 0, 1)**2 + 0.02 * np.clip(-s * x / w, 0, 1), 16)
            + [x0, 0], 0.05, lip)


def _draw_marks(cv: _Canvas, p: dict) -> None:
    y0, x0 = p['mouth_y'], p['yaw']
    for mark in p['marks']:
        if mark == 'nasolabial':
            for s in (-1, 1):
                cv.line(np.stack([s * np.linspace(0.2, 0.42, 6) + x0,
                                  np.linspace(0.12, y0 + 0.05, 6)], 1), 0.035)
        elif mark == 'cheeks':
            for s in (-1, 1):
                cx = s * p['eye_x'] + x0
                cv.line(_curve(cx - 0.15, cx + 0.15, lambda x: p['eye_y'] +
                               0.17 - 0.06 * np.cos((x - cx) * 10), 8), 0.03)
        elif mark == 'forehead':
            for k in range(3):
                y = -0.8 + 0.1 * k
                cv.line(_curve(-0.42, 0.42, lambda x: y + 0.03 * np.cos(
                    x * 4), 12) + [x0, 0], 0.025)
        elif mark == 'glabella':
            for s in (-1, 1):
                cv.line([[s * 0.05 + x0, -0.52], [s * 0.04 + x0, -0.36]],
                        0.03)
        elif mark == 'nose':
            for k in range(3):
                y = -0.14 + 0.07 * k
                cv.line([[x0 - 0.13, y + 0.02], [x0, y],
                         [x0 + 0.13, y + 0.02]], 0.035)
        elif mark == 'chin':
            cv.line(_curve(-0.12, 0.12, lambda x: y0 + 0.22 - 0.4 * x**2, 8)
                    + [x0, 0], 0.03)
        elif mark == 'dimple':
            s = p['side']
            cv.line([[s * 0.3 + x0, y0 - 0.13], [s * 0.34 + x0, y0 - 0.02]],
                    0.035)


def _draw_regions(half: Tuple[float, float], center: Tuple[float, float],
                  p: dict, shape: Tuple[int, int]) -> np.ndarray:
    """One uint8 (0/255) mask per region of :data:`REGION_NAMES`."""
    x0, ey, my = p['yaw'], p['eye_y'], p['mouth_y']
    shapes = {
        'brows': [np.array([[-0.7, ey - 0.68], [0.7, ey - 0.68],
                            [0.7, ey - 0.14], [-0.7, ey - 0.14]])],
        'eyes': [_ellipse(s * p['eye_x'], ey, 0.25, 0.14) for s in (-1, 1)],
        'nose': [np.array([[-0.16, -0.12], [0.16, -0.12], [0.18, 0.28],
                           [-0.18, 0.28]])],
        'mouth': [_ellipse(0.0, my + 0.04, 0.46, 0.24)],
        'cheeks': [_ellipse(s * 0.42, 0.22, 0.2, 0.2) for s in (-1, 1)],
    }
    masks = np.zeros((len(REGION_NAMES), ) + shape, np.uint8)
    for i, name in enumerate(REGION_NAMES):
        cv = _Canvas(masks[i], center, half, (255, ))
        for poly in shapes[name]:
            cv.fill(poly + [x0, 0], (255, ))
    return masks


def _palette(rng: np.random.Generator, shift: Sequence[str]):
    """Skin, hair and background colours (BGR)."""
    if 'palette' in shift:  # unusual avatar colours, dark backgrounds
        skin = rng.integers(60, 256, 3)
        skin[int(rng.integers(3))] //= 3
        bg = rng.integers(0, 90, 3)
    else:
        tone = rng.uniform(0.0, 1.0)
        skin = np.array([60 + 150 * tone, 90 + 135 * tone, 120 + 125 * tone])
        skin = np.clip(skin + rng.normal(0, 8, 3), 0, 255)
        bg = rng.integers(0, 256, 3)
    hair = rng.integers(10, 120, 3)
    return (tuple(int(c) for c in skin), tuple(int(c) for c in hair),
            tuple(int(c) for c in bg))


def _clutter(img: np.ndarray, rng: np.random.Generator, n: int) -> None:
    """Random filled and outlined shapes (background or occluders)."""
    s = img.shape[0]
    for _ in range(n):
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        kind = int(rng.integers(3))
        x, y = (int(v) for v in rng.integers(0, s, 2))
        r = int(rng.uniform(0.04, 0.2) * s)
        if kind == 0:
            cv2.circle(img, (x, y), r, color, -1 if rng.random() < 0.6
                       else max(1, s // 40), cv2.LINE_AA)
        elif kind == 1:
            cv2.rectangle(img, (x - r, y - r // 2), (x + r, y + r // 2),
                          color, -1)
        else:
            x2, y2 = (int(v) for v in rng.integers(0, s, 2))
            cv2.line(img, (x, y), (x2, y2), color, max(1, s // 30),
                     cv2.LINE_AA)


def render_face_and_regions(expression: str, rng: np.random.Generator,
                            size: int = 64, shift: Sequence[str] = (),
                            canvas: Optional[np.ndarray] = None,
                            box: Optional[Sequence[float]] = None
                            ) -> Tuple[np.ndarray, np.ndarray]:
    """Draw one face showing ``expression`` and its region bit mask.

    Args:
        expression (str): A key of :data:`MOVED_REGIONS`.
        rng (np.random.Generator): Source of all random choices.
        size (int): Output side length in pixels. Defaults to ``64``.
        shift (Sequence[str]): Shifted factors, a subset of
            :data:`SHIFTS`. Defaults to ``()`` (none).
        canvas (np.ndarray, optional): Draw the face into a copy of this
            BGR image instead of a frame of its own (see below).
        box (Sequence[float], optional): With ``canvas``: ``x1, y1, x2,
            y2`` in canvas pixels where the face ellipse's bounding box
            goes (before the face's in-plane rotation and scale).

    With ``canvas`` and ``box`` the same random choices are made as for a
    frame of its own (same seed, same face: expression intensity, jitter,
    skin, hair, glasses, rotation, occluder, light), but only the face,
    its hair and its occluder are drawn, mapped so that the face box of
    the frame lands on ``box``; the frame's background and clutter are
    dropped. ``size`` then sets the drawing resolution (the frame side the
    face is drawn in before mapping). Without them (the default) the
    output and the random stream are those of the demo world.

    Returns:
        tuple[np.ndarray, np.ndarray]: A ``(size, size, 3)`` uint8 BGR image
        and a ``(size, size)`` uint8 mask where bit ``i`` marks region
        :data:`REGION_NAMES` ``[i]`` (regions may overlap; occluders do
        not clear them). With ``canvas``: the drawn canvas and its
        ``(H, W)`` mask.
    """
    if (canvas is None) != (box is None):
        raise ValueError('render_face_and_regions: pass canvas and box '
                         'together')
    if expression not in _EXPRESSIONS:
        raise ValueError(f'unknown expression {expression!r}; expected one '
                         f'of {tuple(_EXPRESSIONS)}')
    bad = set(shift) - set(SHIFTS)
    if bad:
        raise ValueError(f'unknown shift {sorted(bad)}; expected a subset '
                         f'of {SHIFTS}')
    s = 2 * size  # draw at 2x, then downsample for smooth edges
    skin, hair, bg = _palette(rng, shift)
    img = np.empty((s, s, 3), np.uint8)
    img[:] = bg
    _clutter(img, rng, int(rng.integers(2, 7)))
    # Face bounding box (width 0.8 x height) covers 30-60 % of the frame.
    area = rng.uniform(0.3, 0.6)
    hy = s * np.sqrt(area / 0.8) / 2
    half = (0.8 * hy, hy)
    center = (rng.uniform(half[0], s - half[0]),
              rng.uniform(hy * 0.95, s - hy * 0.95))
    face = np.zeros_like(img)
    alpha = np.zeros((s, s), np.uint8)
    c_int = (int(center[0]), int(center[1]))
    if rng.random() < 0.7:  # hair cap behind the forehead
        axes = (int(half[0] * 1.12), int(half[1] * 0.95))
        top = (c_int[0], int(center[1] - half[1] * 0.25))
        for dst, col in ((face, hair), (alpha, 255)):
            cv2.ellipse(dst, top, axes, 0, 180, 360, col, -1, cv2.LINE_AA)
    axes = (int(half[0]), int(half[1]))
    for dst, col in ((face, skin), (alpha, 255)):
        cv2.ellipse(dst, c_int, axes, 0, 0, 360, col, -1, cv2.LINE_AA)
    p = _sample_params(expression, rng, shift)
    cv = _Canvas(face, center, half, tuple(int(c * 0.35) for c in skin))
    x0 = p['yaw']
    cv.line([[x0, -0.05], [x0 - 0.06, 0.2], [x0 + 0.04, 0.22]], 0.035)
    _draw_eyes_brows(cv, p)
    _draw_mouth(cv, p)
    _draw_marks(cv, p)
    if rng.random() < 0.2:  # glasses
        for side in (-1, 1):
            ring = _ellipse(side * p['eye_x'] + x0, p['eye_y'], 0.22, 0.15)
            cv.line(np.concatenate([ring, ring[:1]]), 0.03, (20, 20, 20))
    regions = _draw_regions(half, center, p, (s, s))

    # Pose: in-plane rotation and scale about the face centre.
    max_angle = 25 if 'pose' in shift else 10
    mat = cv2.getRotationMatrix2D(center, rng.uniform(-max_angle, max_angle),
                                  rng.uniform(0.95, 1.05))
    if canvas is not None:
        return _render_into(canvas, box, rng, (face, alpha, regions, img),
                            center, half, mat)
    warp = dict(dsize=(s, s), flags=cv2.INTER_LINEAR, borderValue=0)
    face = cv2.warpAffine(face, mat, **warp)
    a = cv2.warpAffine(alpha, mat, **warp).astype(np.float32)[..., None]
    img = (img * (1 - a / 255) + face * (a / 255)).astype(np.uint8)
    regions = np.stack([cv2.warpAffine(m, mat, **warp) for m in regions])
    if rng.random() < 0.3:  # occluder in front (hand, object)
        _clutter(img, rng, 1)
    img = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)
    mask = np.zeros((size, size), np.uint8)
    for i, m in enumerate(regions):
        small = cv2.resize(m, (size, size), interpolation=cv2.INTER_AREA)
        mask |= ((small >= 128).astype(np.uint8) << i)
    light = rng.uniform(0.75, 1.2)
    noise = rng.normal(0.0, rng.uniform(2, 10), img.shape)
    img = np.clip(img * light + noise, 0, 255).astype(np.uint8)
    return img, mask


def render_face(expression: str, rng: np.random.Generator,
                size: int = 64, shift: Sequence[str] = (),
                canvas: Optional[np.ndarray] = None,
                box: Optional[Sequence[float]] = None) -> np.ndarray:
    """Draw one face (see :func:`render_face_and_regions`); image only."""
    return render_face_and_regions(expression, rng, size, shift, canvas,
                                   box)[0]


def _occluder_layer(frame: np.ndarray, rng: np.random.Generator
                    ) -> Tuple[np.ndarray, np.ndarray]:
    """The occluder of :func:`render_face_and_regions` as a layer.

    Draws ``_clutter(.., rng, 1)`` on black and on white from the same
    random state (the stream then continues as after one draw), which
    gives its premultiplied colour and its coverage (anti-aliased edges
    included).
    """
    state = rng.bit_generator.state
    dark = np.zeros_like(frame)
    _clutter(dark, rng, 1)
    rng.bit_generator.state = state
    light = np.full_like(frame, 255)
    _clutter(light, rng, 1)
    cover = 1 - (light.astype(np.float32) - dark) / 255
    return dark.astype(np.float32), cover.mean(axis=2)


def _render_into(canvas: np.ndarray, box: Sequence[float],
                 rng: np.random.Generator, layers: tuple,
                 center: Tuple[float, float], half: Tuple[float, float],
                 mat: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Box mode of :func:`render_face_and_regions` (after the pose draw).

    Maps the frame (drawn at twice the resolution) so that its face box
    ``center -+ half`` lands on ``box``, warps face, alpha, regions and
    occluder into the canvas area the frame covers (at twice the canvas
    resolution, then area-downsampled as the frames are), and lights and
    noises the drawn pixels only.
    """
    face, alpha, regions, frame = layers
    canvas = np.asarray(canvas)
    if canvas.ndim != 3 or canvas.shape[2] != 3:
        raise ValueError(f'canvas must be HxWx3 BGR, got {canvas.shape}')
    x1, y1, x2, y2 = (float(v) for v in box)
    if not (x2 > x1 and y2 > y1):
        raise ValueError(f'box must be x1, y1, x2, y2 with x2 > x1 and '
                         f'y2 > y1, got {list(box)}')
    height, width = canvas.shape[:2]
    s = face.shape[0]
    sx, sy = (x2 - x1) / (2 * half[0]), (y2 - y1) / (2 * half[1])
    fit = np.array([[sx, 0, x1 - sx * (center[0] - half[0])],
                    [0, sy, y1 - sy * (center[1] - half[1])]])
    to_canvas = fit @ np.vstack([mat, [0, 0, 1]])  # pose, then fit
    corners = np.array([[0, 0, 1], [s, 0, 1], [0, s, 1], [s, s, 1]]).T
    xy = to_canvas @ corners
    rx1, ry1 = (max(0, int(np.floor(v))) for v in xy.min(axis=1))
    rx2 = min(width, int(np.ceil(xy[0].max())))
    ry2 = min(height, int(np.ceil(xy[1].max())))
    out = canvas.copy()
    mask = np.zeros((height, width), np.uint8)
    occ, cover = _occluder_layer(frame, rng) if rng.random() < 0.3 else (
        None, None)
    light = rng.uniform(0.75, 1.2)
    sigma = rng.uniform(2, 10)
    if rx2 <= rx1 or ry2 <= ry1:  # the frame lies outside the canvas
        return out, mask
    shift = np.array([[0, 0, rx1], [0, 0, ry1]], np.float64)
    warp = dict(dsize=(2 * (rx2 - rx1), 2 * (ry2 - ry1)),
                flags=cv2.INTER_LINEAR, borderValue=0)
    m2 = 2 * (to_canvas - shift)

    def down(layer):
        return cv2.resize(cv2.warpAffine(layer, m2, **warp),
                          (rx2 - rx1, ry2 - ry1),
                          interpolation=cv2.INTER_AREA)
    a = alpha.astype(np.float32) / 255
    premult = face.astype(np.float32) * a[..., None]
    if occ is not None:  # the occluder over the face, as in a frame
        premult = occ + premult * (1 - cover[..., None])
        a = cover + a * (1 - cover)
    premult, a = down(premult), down(a)[..., None]
    roi = out[ry1:ry2, rx1:rx2].astype(np.float32)
    noise = rng.normal(0.0, sigma, roi.shape)
    drawn = premult * light + noise * a
    out[ry1:ry2, rx1:rx2] = np.clip(roi * (1 - a) + drawn, 0,
                                    255).astype(np.uint8)
    for i, m in enumerate(regions):
        mask[ry1:ry2, rx1:rx2] |= ((down(m) >= 128).astype(np.uint8) << i)
    return out, mask
