"""Measuring the face pipeline on generated scenes and videos.

Two measures, both on faces whose position and expression are known:

* :func:`evaluate_scenes` pastes faces into clutter with
  :func:`~.scenes.make_scene`, runs the pipeline on every scene, matches
  its boxes to the true ones (:func:`~.scenes.match_boxes`, IoU at least
  ``iou_threshold``) and reports faces found, false positives, the median
  best IoU per true face, and the accuracy of the found faces next to the
  accuracy of the same faces classified as aligned crops.
* :func:`score_video` runs :func:`~.video.process_video` on a video whose
  faces are known frame by frame, and counts label changes per frame and
  smoothed (from the summary) and the accuracy of both labels (from the
  CSV). :func:`expression_video` writes such a video from the demo
  world's faces; :func:`paired_video_table` compares smoothing over seeds
  with paired 95 % intervals (:func:`~mpa_fer_plugin.sweep.tables.
  paired_interval`).

:func:`load_demo_faces` reads a split of the demo world (v2, see
:mod:`mpa_fer_plugin.datasets.synthetic`). Its frames show a face at a
random position in clutter, so each frame is pasted whole (it is what the
model saw) and its true face box is :func:`face_box_from_regions` of the
frame's region mask.
"""
import csv
import os.path as osp
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from ...datasets.categories import FER7_CLASSES, RAFDB_NATIVE_EXT
from ...datasets.synthetic import (
    _SPLIT_IDS,
    LABEL_FILE,
    load_region_mask,
    render_face,
    render_face_and_regions,
    synthetic_labels,
)
from .scenes import clutter, make_scene, match_boxes
from .tracking import box_iou
from .video import process_video, write_video

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


def _detect_and_match(pipeline, scene: np.ndarray, truth: np.ndarray,
                      iou_threshold: float) -> tuple:
    """Run the pipeline on one scene and match its boxes to the truth.

    Returns:
        tuple: ``(results, boxes [M, 4], matches, best_iou [len(truth)],
        false_positives)``; ``matches[k]`` is the result index matched to
        true face ``k`` or None, ``best_iou[k]`` its best IoU with any box.
    """
    res = pipeline(scene)
    boxes = np.array([r['box'] for r in res], np.float64).reshape(-1, 4)
    matches = match_boxes(boxes, truth, iou_threshold)
    best = (box_iou(truth, boxes).max(axis=1) if len(boxes) else
            np.zeros(len(truth)))
    return res, boxes, matches, best, \
        len(boxes) - sum(m is not None for m in matches)


def evaluate_face_scenes(pipeline, specs: Sequence[dict], num_scenes: int,
                         per_scene: int = 5, seed: int = 0,
                         size: Tuple[int, int] = (400, 640),
                         face_heights: Tuple[int, int] = (60, 110),
                         iou_threshold: float = 0.5,
                         on_scene: Optional[Callable] = None) -> dict:
    """Detection and classification on scenes of drawn-in demo faces.

    Each face of :func:`face_scene` is classified three ways: through the
    pipeline (detector, alignment to ``pipeline.geometry``), as a crop of
    the same geometry around its true box (no detector error), and as its
    own demo frame (:func:`world_frame`, what the model was tested on).

    Args:
        pipeline: A :class:`~.pipeline.FERPipeline` (``__call__``,
            ``classify``, ``geometry``).
        specs (Sequence[dict]): Faces (:func:`world_face_specs`); the first
            ``num_scenes * per_scene`` of a seeded shuffle are used.
        num_scenes (int): Scenes to draw.
        per_scene (int): Faces per scene.
        seed (int): Seed of the shuffle and of the scenes.
        size (tuple): Scene ``(height, width)``.
        face_heights (tuple): Range of face box heights in pixels.
        iou_threshold (float): Overlap that counts a face as found.
        on_scene (callable, optional): ``on_scene(index, scene, truth,
            results)`` per scene.

    Returns:
        dict: ``faces``, ``found``, ``recall``, ``false_pos``,
        ``median_best_iou``; accuracies ``acc_found`` (found faces through
        the detector), ``acc_truebox_found`` and ``acc_frame_found`` (the
        same faces cut at their true boxes and as their own frames),
        ``acc_truebox`` and ``acc_frame`` (all faces); ``recall_by_class``
        and ``per_face`` records (``stem``, ``label``, ``found``, ``iou``,
        ``det``, ``truebox``, ``frame``: predicted labels, ``det`` None
        when missed).
    """
    from .align import align_face
    used = scene_faces(specs, num_scenes, per_scene, seed)
    frame_pred = [r['pred_label'] for r in pipeline.classify(
        [world_frame(f) for f in used])]
    records, best, fp = [], [], 0
    for s, group, scene, truth in drawn_scenes(used, per_scene, seed, size,
                                               face_heights):
        res, boxes, matches, iou, n_fp = _detect_and_match(
            pipeline, scene, truth, iou_threshold)
        if on_scene is not None:
            on_scene(s, scene, truth, res)
        best += list(iou)
        fp += n_fp
        crops = [align_face(scene, b, None, pipeline.geometry)[0]
                 for b in truth]
        true_pred = [r['pred_label'] for r in pipeline.classify(crops)]
        for k, j in enumerate(matches):
            f = group[k]
            records.append(dict(
                stem=f['stem'], label=f['label'], found=j is not None,
                iou=round(float(iou[k]), 3),
                det=None if j is None else int(res[j]['pred_label']),
                truebox=int(true_pred[k]),
                frame=int(frame_pred[s * per_scene + k])))
    return summarize_faces(records, fp=fp, best=best)


def clutter_false_positives(detector, num_scenes: int,
                            seeds: Sequence[int] = (0, ),
                            size: Tuple[int, int] = (400, 640)) -> dict:
    """Detections on face-free clutter (every one is a false positive).

    Returns:
        dict: ``scenes`` (``num_scenes`` per seed) and ``detections``.
    """
    count = 0
    for seed in seeds:
        for s in range(num_scenes):
            img = clutter(*size, np.random.default_rng([seed, 15, s]))
            count += len(detector.detect(img))
    return dict(scenes=num_scenes * len(seeds), detections=count)


def summarize_faces(records: Sequence[dict], fp: int = 0,
                    best: Optional[Sequence[float]] = None) -> dict:
    """Counts and accuracies of :func:`evaluate_face_scenes` records."""
    found = [r for r in records if r['found']]

    def acc(rows, key):
        return (sum(r[key] == r['label'] for r in rows) / len(rows)
                if rows else None)
    by_class = {}
    for c, name in enumerate(FER7_CLASSES):
        rows = [r for r in records if r['label'] == c]
        if rows:
            by_class[name] = sum(r['found'] for r in rows) / len(rows)
    best = [r['iou'] for r in records] if best is None else best
    return dict(faces=len(records), found=len(found),
                recall=len(found) / len(records) if records else None,
                false_pos=fp,
                median_best_iou=float(np.median(best)) if best else None,
                acc_found=acc(found, 'det'),
                acc_truebox_found=acc(found, 'truebox'),
                acc_frame_found=acc(found, 'frame'),
                acc_truebox=acc(records, 'truebox'),
                acc_frame=acc(records, 'frame'),
                recall_by_class=by_class, per_face=list(records))


def paired_scene_table(runs: Dict[int, dict]) -> Dict[str, tuple]:
    """Detected faces against the same faces' crops, paired over seeds.

    Args:
        runs (dict): scene seed -> :func:`evaluate_face_scenes` result.

    Returns:
        dict: ``det_vs_frame`` (accuracy of the found faces through the
        detector minus the same faces as their own frames),
        ``det_vs_truebox`` (minus the same faces cut at their true boxes)
        and ``recall`` (mean recall, as ``a - 0``): ``(mean, low, high,
        n)`` with 95 % t-intervals.
    """
    from ...sweep.tables import paired_interval

    def col(key):
        return {s: float(r[key]) for s, r in runs.items()
                if r[key] is not None}
    zero = {s: 0.0 for s in runs}
    return dict(det_vs_frame=paired_interval(col('acc_found'),
                                             col('acc_frame_found')),
                det_vs_truebox=paired_interval(col('acc_found'),
                                               col('acc_truebox_found')),
                recall=paired_interval(col('recall'), zero))


#: Header of the drawn-face scene table (:func:`face_scene_row`).
FACE_SCENE_HEADER = (
    '| geometry | faces found (IoU >= 0.5) | false positives | accuracy: '
    'found, detector | same faces, true box | same faces, own frames | '
    'detector - own frames [95 % CI] | detector - true box [95 % CI] |\n'
    '|---|---|---|---|---|---|---|---|')


def face_scene_row(name: str, runs: Dict[int, dict]) -> str:
    """One markdown row over seeds of :func:`evaluate_face_scenes` runs
    (pooled counts and accuracies, paired differences per seed)."""
    pooled = summarize_faces([r for v in runs.values()
                              for r in v['per_face']],
                             fp=sum(v['false_pos'] for v in runs.values()))
    paired = paired_scene_table(runs)
    return (f"| {name} | {pooled['found']} of {pooled['faces']} "
            f"({_pct(pooled['recall'])}) | {pooled['false_pos']} | "
            f"{_pct(pooled['acc_found'])} | "
            f"{_pct(pooled['acc_truebox_found'])} | "
            f"{_pct(pooled['acc_frame_found'])} | "
            f"{_ci(paired['det_vs_frame'], 100, ' pt')} | "
            f"{_ci(paired['det_vs_truebox'], 100, ' pt')} |")


def evaluate_scenes(pipeline, faces: Sequence[dict], num_scenes: int,
                    per_scene: int = 5, seed: int = 0,
                    size: Tuple[int, int] = (400, 640),
                    face_sizes: Tuple[int, int] = (80, 130),
                    iou_threshold: float = 0.5,
                    on_scene: Optional[Callable] = None) -> dict:
    """Detection and classification on generated scenes of known faces.

    Args:
        pipeline: A :class:`~.pipeline.FERPipeline` (or an object with
            ``__call__(image) -> [{'box', 'pred_label'}]`` and
            ``classify(crops) -> [{'pred_label'}]``).
        faces (Sequence[dict]): ``image``, ``label`` and ``face_box``
            (fractions) per face, e.g. from :func:`load_demo_faces`; the
            first ``num_scenes * per_scene`` of a seeded shuffle are used.
        num_scenes (int): Scenes to build.
        per_scene (int): Faces per scene.
        seed (int): Seed of the shuffle, the placement and the clutter.
        size (tuple): Scene ``(height, width)``.
        face_sizes (tuple): Range of pasted sides in pixels.
        iou_threshold (float): Overlap that counts a face as found.
        on_scene (callable, optional): Called as ``on_scene(index, scene,
            truth, results)`` for every scene (e.g. to save one).

    Returns:
        dict: ``faces``, ``found``, ``recall``, ``false_pos``,
        ``median_best_iou`` (best IoU of each true face with any box),
        ``acc_found`` (found faces classified right), ``acc_aligned_found``
        (the same faces as aligned crops), ``acc_aligned`` (all used faces
        as aligned crops) and ``scenes`` (per scene: ``truth``, ``boxes``,
        ``matches``).
    """
    n = num_scenes * per_scene
    if n > len(faces):
        raise ValueError(f'{num_scenes} scenes x {per_scene} faces need {n} '
                         f'faces; only {len(faces)} given')
    rng = np.random.default_rng(seed)
    used = [faces[i] for i in rng.permutation(len(faces))[:n]]
    aligned = [r['pred_label'] == f['label'] for r, f in zip(
        pipeline.classify([f['image'] for f in used]), used)]
    found = fp = right = right_aligned = 0
    best, scenes = [], []
    for s in range(num_scenes):
        group = used[s * per_scene:(s + 1) * per_scene]
        scene, truth = make_scene([f['image'] for f in group], rng,
                                  size=size, face_sizes=face_sizes,
                                  face_box=[f['face_box'] for f in group])
        res, boxes, matches, iou, n_fp = _detect_and_match(
            pipeline, scene, truth, iou_threshold)
        if on_scene is not None:
            on_scene(s, scene, truth, res)
        best += list(iou)
        fp += n_fp
        for k, j in enumerate(matches):
            if j is not None:
                found += 1
                right += res[j]['pred_label'] == group[k]['label']
                right_aligned += aligned[s * per_scene + k]
        scenes.append(dict(truth=truth.tolist(), boxes=boxes.tolist(),
                           matches=matches))
    return dict(faces=n, found=found, recall=found / n, false_pos=fp,
                median_best_iou=float(np.median(best)),
                acc_found=right / found if found else None,
                acc_aligned_found=right_aligned / found if found else None,
                acc_aligned=float(np.mean(aligned)), scenes=scenes)


#: Expressions of the two faces of :func:`expression_video`, one per
#: segment of ``frames // 3`` frames.
VIDEO_PLAN = (('Happiness', 'Surprise', 'Sadness'),
              ('Neutral', 'Anger', 'Happiness'))


def expression_video(path: str, seed: int = 0, frames: int = 60,
                     face: int = 100, size: Tuple[int, int] = (240, 320),
                     fps: float = 10.0,
                     draw: Callable = render_face,
                     drawn: bool = False, drift: float = 30.0) -> dict:
    """Write a video of two demo faces changing expression, and its truth.

    Each face shows :data:`VIDEO_PLAN` (three segments), drifts slowly and
    is drawn anew every frame (``draw(expression, rng, face)``, seeded
    with ``(seed, face, frame)``), so the per-frame classifier is noisy.
    A demo frame places its face at a random position, so the face also
    jumps inside its pasted square from frame to frame.

    With ``drawn`` the faces themselves are drawn (the box option of
    :func:`~mpa_fer_plugin.datasets.synthetic_faces.
    render_face_and_regions`, face height ``0.8 * face``) at boxes that
    drift smoothly by up to ``drift`` pixels, and the true boxes are the
    face boxes (``draw`` is not used).

    Returns:
        dict: ``video`` (the path), ``boxes`` and ``labels`` (per frame,
        one pasted square and class name per face) and ``true_flips``.
    """
    h, w = size
    bg = clutter(h, w, np.random.default_rng([seed, 99]))
    seg = max(1, frames // 3)
    out, boxes, labels = [], [], []
    for f in range(frames):
        img = bg.copy()
        fb, fl = [], []
        for k, (x0, y0) in enumerate(((30, 60), (w - 30 - face, 70))):
            expr = VIDEO_PLAN[k][min(f // seg, 2)]
            rng = np.random.default_rng([seed, k, f])
            if drawn:
                fh = 0.8 * face
                cx = x0 + face / 2 + drift * np.sin(f / 8 + k) / 2
                cy = y0 + face / 2 + drift * np.cos(f / 11 + k) / 4
                box = [cx - 0.4 * fh, cy - fh / 2, cx + 0.4 * fh,
                       cy + fh / 2]
                img, _ = render_face_and_regions(
                    expr, rng, int(np.ceil(1.7 * fh)), canvas=img, box=box)
                fb.append([round(float(v), 2) for v in box])
            else:
                x = x0 + int(3 * np.sin(f / 6))
                y = min(y0 + int(2 * np.cos(f / 5)), h - face)
                img[y:y + face, x:x + face] = draw(expr, rng, face)
                fb.append([x, y, x + face, y + face])
            fl.append(expr)
        out.append(img)
        boxes.append(fb)
        labels.append(fl)
    write_video(path, out, fps=fps)
    flips = sum(labels[f][k] != labels[f - 1][k]
                for f in range(1, frames) for k in range(2))
    return dict(video=path, boxes=boxes, labels=labels, true_flips=flips)


def score_video(pipeline, video: str, boxes: Sequence[Sequence],
                labels: Sequence[Sequence[str]], out_csv: str,
                out_video: Optional[str] = None, detect_every: int = 5,
                smooth: float = 0.3, match_iou: float = 0.3,
                refine: bool = False) -> dict:
    """Run :func:`~.video.process_video` and score it against the truth.

    Args:
        pipeline: A :class:`~.pipeline.FERPipeline`.
        video (str): The video file.
        boxes (Sequence): Per frame, the true boxes of its faces.
        labels (Sequence): Per frame, their class names.
        out_csv (str): The CSV timeline to write (and read back).
        out_video (str, optional): The annotated video.
        detect_every (int): Detector period in frames.
        smooth (float): EMA weight of the new frame.
        match_iou (float): A CSV row belongs to the true face it overlaps
            most if the IoU is at least this; other rows count as wrong.
        refine (bool): Box updates between detections (see
            :func:`~.video.process_video`).

    Returns:
        dict: ``frames``, ``rows``, ``tracks``, ``fps``, ``flips_raw``,
        ``flips_smoothed`` (from :func:`~.video.process_video`),
        ``acc_raw`` and ``acc_smoothed`` (rows whose label is the true
        one, over all rows; None without rows) and ``mean_iou`` (each
        row's box against the true box it overlaps most).
    """
    summary = process_video(pipeline, video, out_video=out_video,
                            out_csv=out_csv, detect_every=detect_every,
                            smooth=smooth, progress=False, refine=refine)
    hits = {'raw_label': 0, 'label': 0}
    ious = []
    with open(out_csv, newline='', encoding='utf-8') as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        frame = int(row['frame'])
        box = [float(row[k]) for k in ('x1', 'y1', 'x2', 'y2')]
        iou = box_iou(np.array([box]), np.array(boxes[frame]))[0]
        ious.append(float(iou.max()))
        if iou.max() < match_iou:
            continue
        truth = labels[frame][int(np.argmax(iou))]
        for key in hits:
            hits[key] += row[key] == truth
    out = {k: summary[k] for k in ('frames', 'rows', 'tracks', 'fps',
                                   'flips_raw', 'flips_smoothed')}
    out['acc_raw'] = hits['raw_label'] / len(rows) if rows else None
    out['acc_smoothed'] = hits['label'] / len(rows) if rows else None
    out['mean_iou'] = float(np.mean(ious)) if ious else None
    return out


def paired_video_table(runs: Dict[int, dict]) -> Dict[str, tuple]:
    """Smoothed minus per-frame flips and accuracy, paired over seeds.

    Args:
        runs (dict): seed -> :func:`score_video` result.

    Returns:
        dict: ``flips`` and ``accuracy``: ``(mean, low, high, n)`` of the
        paired differences (95 % t-interval).
    """
    from ...sweep.tables import paired_interval

    def col(key):
        return {s: float(r[key]) for s, r in runs.items()
                if r[key] is not None}
    return dict(flips=paired_interval(col('flips_smoothed'),
                                      col('flips_raw')),
                accuracy=paired_interval(col('acc_smoothed'),
                                         col('acc_raw')))


#: Header of the scene table (:func:`scene_row`).
SCENE_HEADER = ('| geometry | faces found (IoU >= 0.5) | median best IoU | '
                'false positives | accuracy of found faces | same faces as '
                'aligned crops | all used faces aligned |\n'
                '|---|---|---|---|---|---|---|')
#: Header of the video table (:func:`video_row`).
VIDEO_HEADER = ('| detect every | label changes per-frame -> smoothed (true) '
                '| difference [95 % CI] | accuracy per-frame -> smoothed | '
                'difference [95 % CI] | rows, tracks | frames/s | '
                'box IoU with the truth |\n'
                '|---|---|---|---|---|---|---|---|')


def _pct(v: Optional[float]) -> str:
    return '-' if v is None else f'{100 * v:.1f} %'


def _ci(t: Optional[tuple], scale: float = 1.0, unit: str = '') -> str:
    if t is None:
        return '-'
    m, lo, hi = (x * scale for x in t[:3])
    return f'{m:+.1f}{unit} [{lo:+.1f}, {hi:+.1f}] (n={t[3]})'


def scene_row(name: str, r: dict) -> str:
    """One markdown row of :func:`evaluate_scenes`' result ``r``."""
    return (f"| {name} | {r['found']} of {r['faces']} | "
            f"{r['median_best_iou']:.2f} | {r['false_pos']} | "
            f"{_pct(r['acc_found'])} | {_pct(r['acc_aligned_found'])} | "
            f"{_pct(r['acc_aligned'])} |")


def video_row(every: Union[int, str], runs: Dict[int, dict]) -> str:
    """One markdown row over seeds of :func:`score_video` results (means,
    paired differences smoothed minus per-frame, ranges)."""
    vals = list(runs.values())
    paired = paired_video_table(runs)

    def mean(key):
        xs = [v[key] for v in vals if v.get(key) is not None]
        return sum(xs) / len(xs) if xs else None

    def span(key, fmt):
        xs = [v[key] for v in vals]
        return f'{fmt.format(min(xs))}-{fmt.format(max(xs))}'
    true = vals[0].get('true_flips', '?')
    iou = mean('mean_iou')
    return (f"| {every} | {mean('flips_raw'):.1f} -> "
            f"{mean('flips_smoothed'):.1f} ({true}) | "
            f"{_ci(paired['flips'])} | {_pct(mean('acc_raw'))} -> "
            f"{_pct(mean('acc_smoothed'))} | "
            f"{_ci(paired['accuracy'], 100, ' pt')} | "
            f"{span('rows', '{}')} of {2 * vals[0]['frames']}, "
            f"{span('tracks', '{}')} | {span('fps', '{:.1f}')} | "
            f"{'-' if iou is None else format(iou, '.2f')} |")
