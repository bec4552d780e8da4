"""Label stability of the face pipeline on videos of known faces.

:func:`score_video` runs :func:`~.video.process_video` on a video whose
faces are known frame by frame, and counts label changes per frame and
smoothed (from the summary) and the accuracy of both labels (from the
CSV). :func:`expression_video` writes such a video from the demo world's
faces; :func:`paired_video_table` compares smoothing over seeds with
paired 95 % intervals (:func:`~mpa_fer_plugin.sweep.tables.
paired_interval`); :func:`video_row` formats one markdown row.
"""
import csv
from typing import Callable, Dict, Optional, Sequence, Tuple, Union

import numpy as np

from ...datasets.synthetic import render_face, render_face_and_regions
from .scene_eval import _ci, _pct
from .scenes import clutter
from .tracking import box_iou
from .video import process_video, write_video

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


#: Header of the video table (:func:`video_row`).
VIDEO_HEADER = ('| detect every | label changes per-frame -> smoothed (true) '
                '| difference [95 % CI] | accuracy per-frame -> smoothed | '
                'difference [95 % CI] | rows, tracks | frames/s | '
                'box IoU with the truth |\n'
                '|---|---|---|---|---|---|---|---|')


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
