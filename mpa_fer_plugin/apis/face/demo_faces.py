"""The demo world's faces as test material for the face pipeline.

:func:`load_demo_faces` reads a split of the demo world (v2, see
:mod:`mpa_fer_plugin.datasets.synthetic`). Its frames show a face at a
random position in clutter, so each frame is pasted whole (it is what the
model saw) and its true face box is :func:`face_box_from_regions` of the
frame's region mask. :func:`world_face_specs` and :func:`world_frame`
redraw the demo world's faces without its files, and :func:`face_scene`
draws several of them into one cluttered scene with known boxes
(:func:`drawn_scenes` for seeded groups of scenes).
"""
import os.path as osp
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

from ...datasets.categories import FER7_CLASSES, RAFDB_NATIVE_EXT
from ...datasets.synthetic import (
    _SPLIT_IDS,
    LABEL_FILE,
    load_region_mask,
    render_face_and_regions,
    synthetic_labels,
)
from .scenes import clutter
from .tracking import box_iou

#: Half extents of the union of the demo faces' region masks in face
#: coordinates (brows span x in [-0.7, 0.7]; brows to mouth span y in
#: about [-0.86, 0.78]) -- the face ellipse spans [-1, 1] on both axes.
REGION_EXTENT = (0.7, 0.82, -0.04)


def face_box_from_regions(mask: np.ndarray) -> Tuple[float, ...]:
    """The face box of a demo frame from its region mask, as fractions.

    The tight box of all region bits is widened to the face ellipse with
    :data:`REGION_EXTENT` (exact for an unrotated face; the demo's +-10
    degree rotation and feature jitter move it by a few per cent).

    Args:
        mask (np.ndarray): ``(H, W)`` region bit mask.

    Returns:
        tuple: ``x1, y1, x2, y2`` as fractions of the frame, clipped to it.
    """
    ys, xs = np.nonzero(mask)
    if not len(xs):
        raise ValueError('region mask is empty: no face to box')
    h, w = mask.shape
    ex, ey, dy = REGION_EXTENT
    cx, cy = (xs.min() + xs.max() + 1) / 2, (ys.min() + ys.max() + 1) / 2
    hx = (xs.max() + 1 - xs.min()) / 2 / ex
    hy = (ys.max() + 1 - ys.min()) / 2 / ey
    cy -= dy * hy
    return (max(0.0, (cx - hx) / w), max(0.0, (cy - hy) / h),
            min(1.0, (cx + hx) / w), min(1.0, (cy + hy) / h))


def load_demo_faces(data_root: str, split: str = 'test',
                    limit: Optional[int] = None) -> List[dict]:
    """Frames of the demo world with label and face box.

    Args:
        data_root (str): A folder of :func:`~mpa_fer_plugin.datasets.
            synthetic.generate_synthetic_fer` (RAF-DB layout with masks).
        split (str): ``'train'`` or ``'test'``.
        limit (int, optional): Read at most this many.

    Returns:
        list[dict]: ``stem``, ``image`` (BGR), ``label`` (index into
        ``FER7_CLASSES``) and ``face_box`` (fractions).
    """
    path = osp.join(data_root, LABEL_FILE)
    if not osp.isfile(path):
        raise FileNotFoundError(f'demo label file not found: {path}')
    out = []
    with open(path, encoding='utf-8') as f:
        for n, line in enumerate(f, 1):
            name, code = line.split()
            stem = osp.splitext(name)[0]
            if not stem.startswith(split):
                continue
            img_path = osp.join(data_root, 'Image', 'aligned',
                                f'{stem}_aligned.jpg')
            img = cv2.imread(img_path)
            if img is None:
                raise ValueError(f'{path}:{n}: cannot read {img_path}')
            cls = RAFDB_NATIVE_EXT[int(code) - 1]
            out.append(dict(stem=stem, image=img,
                            label=FER7_CLASSES.index(cls),
                            face_box=face_box_from_regions(
                                load_region_mask(data_root, stem))))
            if limit is not None and len(out) >= limit:
                break
    return out


#: The demo world of :func:`mpa_fer_plugin.demo.world.ensure_world`
#: (data seed, split sizes, frame side, JPEG quality of the stored frames).
DEMO_WORLD_FACES = dict(seed=0, num_train=700, num_test=2100, size=64,
                        quality=95)


def world_face_specs(split: str = 'test', limit: Optional[int] = None,
                     world: Optional[dict] = None) -> List[dict]:
    """The faces of the demo world as seeds, without reading the disk.

    Face ``i`` of a split is drawn by ``render_face_and_regions(label,
    default_rng([seed, split_id, 0, i]))`` (see
    :func:`~mpa_fer_plugin.datasets.synthetic.generate_synthetic_fer`), so
    the same seed draws the same face into a scene
    (:func:`face_scene`) or as its own frame (:func:`world_frame`).

    Args:
        split (str): ``'train'`` or ``'test'``.
        limit (int, optional): The first ``limit`` faces only.
        world (dict, optional): Overrides of :data:`DEMO_WORLD_FACES`.

    Returns:
        list[dict]: ``stem``, ``label`` (index into ``FER7_CLASSES``),
        ``expression`` and ``seed`` (the generator's seed list).
    """
    w = dict(DEMO_WORLD_FACES, **(world or {}))
    num = w['num_train'] if split == 'train' else w['num_test']
    labels = synthetic_labels(num, 7, w['seed'], split)
    digits = max(5 if split == 'train' else 4, len(str(num)))
    out = []
    for i, label in enumerate(labels[:limit]):
        out.append(dict(stem=f'{split}_{i + 1:0{digits}d}',
                        label=int(label), expression=FER7_CLASSES[label],
                        seed=[w['seed'], _SPLIT_IDS[split], 0, i]))
    return out


def world_frame(spec: dict, size: int = DEMO_WORLD_FACES['size'],
                quality: int = DEMO_WORLD_FACES['quality']) -> np.ndarray:
    """A face's own demo frame, as the world stores it (JPEG round trip).

    This is the framing the demo model was trained and tested on (a face
    box of 30-60 % of the frame at a random position, clutter behind).
    """
    img, _ = render_face_and_regions(spec['expression'],
                                     np.random.default_rng(spec['seed']),
                                     size)
    ok, buf = cv2.imencode('.jpg', img, [cv2.IMWRITE_JPEG_QUALITY,
                                         int(quality)])
    if not ok:  # pragma: no cover - cv2 failure
        raise RuntimeError('cannot encode the frame')
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)


def face_scene(specs: Sequence[dict], rng: np.random.Generator,
               size: Tuple[int, int] = (400, 640),
               face_heights: Tuple[int, int] = (60, 110),
               aspect: float = 0.8, room: float = 1.4,
               max_tries: int = 500) -> Tuple[np.ndarray, np.ndarray]:
    """Draw demo faces themselves into clutter at known boxes.

    Each face is drawn with the box option of
    :func:`~mpa_fer_plugin.datasets.synthetic_faces.render_face_and_regions`
    (its own seed: the same face as its frame, without the frame's
    background), so its true box is exact: the face ellipse's box before
    the face's in-plane rotation (up to +-10 degrees) and scale
    (0.95-1.05).

    Args:
        specs (Sequence[dict]): ``expression`` and ``seed`` per face
            (:func:`world_face_specs`).
        rng (np.random.Generator): Clutter, box heights and positions.
        size (tuple): Scene ``(height, width)``.
        face_heights (tuple): Range of face box heights in pixels.
        aspect (float): Box width / height (the demo faces: 0.8).
        room (float): Faces are placed so that squares of ``room`` box
            heights around their boxes (hair, rotation) do not overlap.
        max_tries (int): Placement attempts per face.

    Returns:
        tuple[np.ndarray, np.ndarray]: The scene and the ``(N, 4)`` true
        boxes ``x1, y1, x2, y2``.
    """
    h, w = size
    scene = clutter(h, w, rng)
    cells: List[np.ndarray] = []
    boxes = []
    for spec in specs:
        for _ in range(max_tries):
            fh = float(rng.integers(face_heights[0], face_heights[1] + 1))
            side = room * fh
            if side >= min(h, w):
                raise ValueError(f'a face of height {fh:.0f} px needs '
                                 f'{side:.0f} px; the scene is {w}x{h}')
            cx = float(rng.uniform(side / 2, w - side / 2))
            cy = float(rng.uniform(side / 2, h - side / 2))
            cell = np.array([[cx - side / 2, cy - side / 2, cx + side / 2,
                              cy + side / 2]])
            if not cells or box_iou(cell, np.concatenate(cells)).max() == 0:
                break
        else:
            raise ValueError(f'cannot place {len(specs)} faces of '
                             f'{face_heights} px in a {w}x{h} scene')
        cells.append(cell)
        box = [cx - aspect * fh / 2, cy - fh / 2, cx + aspect * fh / 2,
               cy + fh / 2]
        draw = int(np.ceil(1.7 * fh))  # face drawn at >= 2x its height
        scene, _ = render_face_and_regions(
            spec['expression'], np.random.default_rng(spec['seed']), draw,
            canvas=scene, box=box)
        boxes.append(box)
    return scene, np.asarray(boxes, np.float32).reshape(-1, 4)


def scene_faces(specs: Sequence[dict], num_scenes: int, per_scene: int,
                seed: int) -> List[dict]:
    """The faces of ``num_scenes`` scenes: a seeded shuffle of ``specs``.

    Raises:
        ValueError: If ``specs`` has fewer than ``num_scenes * per_scene``.
    """
    n = num_scenes * per_scene
    if n > len(specs):
        raise ValueError(f'{num_scenes} scenes x {per_scene} faces need {n} '
                         f'faces; only {len(specs)} given')
    rng = np.random.default_rng([seed, 14])
    return [specs[i] for i in rng.permutation(len(specs))[:n]]


def drawn_scenes(used: Sequence[dict], per_scene: int, seed: int,
                 size: Tuple[int, int], face_heights: Tuple[int, int]):
    """Yield ``(index, faces, scene, true boxes)`` for consecutive groups.

    Scene ``s`` draws ``used[s * per_scene:(s + 1) * per_scene]`` with the
    generator seeded ``[seed, 14, s]`` (:func:`face_scene`), so every
    evaluation of the same seed sees the same scenes.
    """
    for s in range(len(used) // per_scene):
        group = used[s * per_scene:(s + 1) * per_scene]
        scene, truth = face_scene(group, np.random.default_rng([seed, 14, s]),
                                  size=size, face_heights=face_heights)
        yield s, group, scene, truth
