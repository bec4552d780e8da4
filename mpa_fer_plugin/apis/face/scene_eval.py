"""Detection and classification measured on scenes of known faces.

:func:`evaluate_scenes` pastes faces into clutter with
:func:`~.scenes.make_scene`, :func:`evaluate_face_scenes` draws demo faces
into scenes (:func:`~.demo_faces.face_scene`); both run the pipeline on
every scene, match its boxes to the true ones (:func:`~.scenes.
match_boxes`, IoU at least ``iou_threshold``) and report faces found,
false positives, the median best IoU per true face, and the accuracy of
the found faces next to the accuracy of the same faces classified as
aligned crops. :func:`clutter_false_positives` counts a detector's boxes
on face-free clutter. The ``*_row`` functions format markdown rows.
"""
from typing import Callable, Dict, Optional, Sequence, Tuple

import numpy as np

from ...datasets.categories import FER7_CLASSES
from .demo_faces import drawn_scenes, scene_faces, world_frame
from .scenes import clutter, make_scene, match_boxes
from .tracking import box_iou


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


#: Header of the scene table (:func:`scene_row`).
SCENE_HEADER = ('| geometry | faces found (IoU >= 0.5) | median best IoU | '
                'false positives | accuracy of found faces | same faces as '
                'aligned crops | all used faces aligned |\n'
                '|---|---|---|---|---|---|---|')


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
