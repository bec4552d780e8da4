"""Detection alone on scenes of drawn-in demo faces (no model needed).

:func:`evaluate_detector_scenes` draws the same scenes as
:func:`~.evaluate.evaluate_face_scenes` (same seeded shuffle of the faces,
same scene seeds), runs only a detector on them and counts the faces it
finds (IoU at least ``iou_threshold``), its false positives, the best IoU
of every true face and the faces found per expression. It is the cheap
way to compare detectors: no demo model and no data on disk.
"""
import time
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from ...datasets.categories import FER7_CLASSES
from .demo_faces import drawn_scenes, scene_faces
from .scenes import match_boxes
from .tracking import box_iou


def evaluate_detector_scenes(detector, specs: Sequence[dict],
                             num_scenes: int, per_scene: int = 5,
                             seed: int = 0,
                             size: Tuple[int, int] = (400, 640),
                             face_heights: Tuple[int, int] = (60, 110),
                             iou_threshold: float = 0.5) -> dict:
    """Faces found and false positives of ``detector`` on drawn scenes.

    Args:
        detector: An object with ``detect(image) -> FaceDetections``.
        specs (Sequence[dict]): Faces (:func:`~.evaluate.world_face_specs`);
            the first ``num_scenes * per_scene`` of the seeded shuffle of
            :func:`~.evaluate.evaluate_face_scenes` are used.
        num_scenes (int): Scenes to draw.
        per_scene (int): Faces per scene.
        seed (int): Seed of the shuffle and of the scenes.
        size (tuple): Scene ``(height, width)``.
        face_heights (tuple): Range of face box heights in pixels.
        iou_threshold (float): Overlap that counts a face as found.

    Returns:
        dict: ``faces``, ``found``, ``recall``, ``false_pos``,
        ``median_best_iou``, ``near_misses`` (best IoU in (0.2,
        ``iou_threshold``): a box convention problem rather than a miss),
        ``found_by_class`` (class: ``[found, faces]``), ``best_iou`` (per
        true face, in scene order) and
        ``seconds_per_scene`` (detection only).
    """
    used = scene_faces(specs, num_scenes, per_scene, seed)
    n = len(used)
    found, false_pos, best, spent = 0, 0, [], 0.0
    by_class: Dict[str, list] = {c: [0, 0] for c in FER7_CLASSES}
    for _, group, scene, truth in drawn_scenes(used, per_scene, seed, size,
                                               face_heights):
        start = time.perf_counter()
        boxes = detector.detect(scene).boxes
        spent += time.perf_counter() - start
        matches = match_boxes(boxes, truth, iou_threshold)
        best += list(box_iou(truth, boxes).max(axis=1) if len(boxes) else
                     np.zeros(len(truth)))
        hits = [m is not None for m in matches]
        found += sum(hits)
        false_pos += len(boxes) - sum(hits)
        for face, hit in zip(group, hits):
            counts = by_class[FER7_CLASSES[face['label']]]
            counts[0] += int(hit)
            counts[1] += 1
    best_arr = np.asarray(best, np.float64)
    return dict(
        faces=n, found=found, recall=found / n if n else None,
        false_pos=false_pos,
        median_best_iou=float(np.median(best_arr)) if n else None,
        near_misses=int(np.sum((best_arr > 0.2) &
                               (best_arr < iou_threshold))),
        found_by_class=by_class,
        best_iou=[round(float(v), 3) for v in best_arr],
        seconds_per_scene=spent / num_scenes if num_scenes else None)


def detection_row(name: str, runs: Dict[int, dict],
                  clutter: Optional[Dict[str, int]] = None) -> str:
    """A Markdown row: detector, faces found, false positives, median IoU,
    found per class, seconds per scene (summed over the seeds ``runs``)."""
    found = sum(r['found'] for r in runs.values())
    faces = sum(r['faces'] for r in runs.values())
    fp = sum(r['false_pos'] for r in runs.values())
    iou = np.median(np.concatenate([r['best_iou'] for r in runs.values()]))
    classes = ', '.join(
        f"{c} {sum(r['found_by_class'][c][0] for r in runs.values())}/"
        f"{sum(r['found_by_class'][c][1] for r in runs.values())}"
        for c in FER7_CLASSES)
    sec = np.mean([r['seconds_per_scene'] for r in runs.values()])
    fp_text = f'{fp}' if clutter is None else \
        f"{fp}; {clutter['detections']} in {clutter['scenes']}"
    return (f'| {name} | {found} of {faces} ({100 * found / faces:.1f} %) | '
            f'{fp_text} | {iou:.2f} | {classes} | {sec:.2f} |')


#: Header of :func:`detection_row`.
DETECTION_HEADER = (
    '| detector | faces found (IoU >= 0.5) | false positives (scenes; '
    'face-free clutter) | median best IoU | found per class | '
    's per scene |\n|---|---|---|---|---|---|')
