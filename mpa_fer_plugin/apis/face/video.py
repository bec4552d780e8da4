"""Expressions over a video file or a webcam, face by face.

:func:`process_video` reads frames with OpenCV, detects faces every
``detect_every`` frames and keeps their boxes (and landmarks) in between,
links detections of successive rounds into tracks by box overlap
(:class:`~.tracking.IoUTracker`), classifies every track's aligned crop on
every frame, optionally smooths each track's probabilities with an EMA,
and writes an annotated video and a CSV timeline with one row per frame
and track::

    frame,time_s,track,x1,y1,x2,y2,detected,label,score,p_Anger,...

``detected`` is 1 on frames where the detector ran; ``label``/``score``
and the probabilities are the smoothed ones when smoothing is on
(``raw_label`` keeps the per-frame argmax). A source that is a number (or
a string of digits) is a webcam index. A missing file raises
``FileNotFoundError``; a file OpenCV cannot open or decode raises
``ValueError`` naming it. A file that ends before the frame count of its
header (truncated or damaged) is processed up to its last readable frame
and reported: ``ended_early`` and ``frames_announced`` in the summary and
a warning naming both counts. Ctrl-C (``SIGINT``) and ``SIGTERM`` stop a
run the same way, after the frame in progress (a second signal stops at
once): the annotated video is finalised, the CSV keeps every row written
so far and the summary is returned with ``stopped`` set to the signal's
name.
"""
import csv
import logging
import os
import os.path as osp
import signal
import threading
import time
from typing import Any, Dict, Iterator, Optional, Tuple, Union

import cv2
import numpy as np
from mmengine.logging import print_log
from mmengine.utils import ProgressBar

from .detectors import FaceDetections, as_detections
from .draw import draw_faces
from .tracking import EMASmoother, IoUTracker, box_iou, count_flips

Source = Union[int, str]


def open_video(source: Source) -> Tuple[cv2.VideoCapture, float, int]:
    """Open a video file or a webcam index, failing with a clear error.

    Returns:
        tuple: The capture, its frame rate (25 if unknown) and its frame
        count (0 if unknown, e.g. a webcam).
    """
    if isinstance(source, str) and source.isdigit():
        source = int(source)
    if isinstance(source, int):
        cap = cv2.VideoCapture(source)
        if not cap.isOpened():
            raise ValueError(f'cannot open webcam {source} (no such device '
                             'or no permission)')
    else:
        if not osp.isfile(source):
            raise FileNotFoundError(f'video file not found: {source}')
        cap = cv2.VideoCapture(source)
        if not cap.isOpened():
            raise ValueError(f'cannot read video {source}: OpenCV cannot '
                             'open it (corrupt, or not a video)')
    fps = cap.get(cv2.CAP_PROP_FPS)
    fps = fps if fps and np.isfinite(fps) and fps > 0 else 25.0
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    return cap, float(fps), max(count, 0)


def iter_frames(cap: cv2.VideoCapture, source: Source,
                max_frames: Optional[int] = None
                ) -> Iterator[Tuple[int, np.ndarray]]:
    """Yield ``(index, BGR frame)``; no frame at all is an error."""
    index = 0
    while max_frames is None or index < max_frames:
        ok, frame = cap.read()
        if not ok or frame is None:
            break
        yield index, frame
        index += 1
    if index == 0:
        raise ValueError(f'cannot read video {source}: no frame could be '
                         'decoded (corrupt, empty or unsupported codec)')


class StopSignal(KeyboardInterrupt):
    """Raised by :func:`process_video` on a second stop signal.

    A :class:`KeyboardInterrupt`, so that it takes the path of Ctrl-C:
    outputs finalised, summary returned.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class _StopGuard:
    """``SIGINT`` and ``SIGTERM`` stop the frame loop between two frames.

    The first signal is recorded (:attr:`received`) and the loop ends after
    the frame in progress, so the video, the CSV and the counts agree; a
    second one raises :class:`StopSignal` at once; none raises after
    :meth:`quiet` (the outputs are being finalised). Handlers are installed
    in the main thread only (elsewhere nothing changes) and restored by
    :meth:`restore`.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.received: Optional[int] = None
        self._raise = True
        self._previous: Dict[int, Any] = {}
        if threading.current_thread() is threading.main_thread():
            for signum in self.SIGNALS:
                previous = signal.signal(signum, self._handle)
                self._previous[signum] = (signal.SIG_DFL if previous is None
                                          else previous)

    def _handle(self, signum: int, frame: Any) -> None:
        if self.received is None:
            self.received = signum
        elif self._raise:
            raise StopSignal(signum)

    def quiet(self) -> None:
        """From now on a signal is only recorded."""
        self._raise = False

    def restore(self) -> None:
        """Put the previous handlers back."""
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous = {}


def _writer(path: str, fps: float, size: Tuple[int, int]
            ) -> cv2.VideoWriter:
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    ext = osp.splitext(path)[1].lower()
    codec = {'.avi': 'MJPG', '.mp4': 'mp4v', '.mkv': 'MJPG'}.get(ext)
    if codec is None:
        raise ValueError(f'annotated video {path}: use .mp4, .avi or .mkv')
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*codec), fps, size)
    if not writer.isOpened():
        raise OSError(f'cannot write the annotated video {path}')
    return writer


def process_video(pipeline, source: Source,
                  out_video: Optional[str] = None,
                  out_csv: Optional[str] = None,
                  detect_every: int = 5,
                  smooth: Optional[float] = 0.3,
                  iou_threshold: float = 0.3,
                  max_frames: Optional[int] = None,
                  min_side: int = 480,
                  progress: bool = True,
                  refine: bool = False) -> Dict[str, Any]:
    """Run a :class:`~.pipeline.FERPipeline` over a video or a webcam.

    Args:
        pipeline (FERPipeline): Detector, aligner and classifier.
        source (int | str): Video file, or webcam index.
        out_video (str, optional): Annotated video (``.mp4``/``.avi``).
        out_csv (str, optional): The CSV timeline.
        detect_every (int): Run the detector on every N-th frame (1: all).
            Defaults to 5.
        smooth (float, optional): EMA weight of the new frame, in (0, 1];
            None: no smoothing. Defaults to 0.3.
        iou_threshold (float): Overlap that continues a track. Defaults to
            0.3.
        max_frames (int, optional): Stop after this many frames (needed for
            a webcam unless stopped with Ctrl-C).
        min_side (int): Upscale small frames of the annotated video to this
            shorter side. Defaults to 480.
        progress (bool): Show a progress bar. Defaults to True.
        refine (bool): On the frames between detections, look for each
            held face again near its box (:func:`redetect_near`) and move
            the box there when found. Defaults to False (boxes held).

    Returns:
        dict: ``frames``, ``rows``, ``tracks``, ``fps_in`` (the video's
        frame rate), ``fps`` (frames processed per second), ``seconds``,
        ``flips_raw`` and ``flips_smoothed`` (label changes summed over
        tracks), ``detector`` (the detector's class name, None for a pipeline
        without one), the output paths, ``frames_announced`` (the header's
        frame count, None if unknown), ``ended_early`` (the file ended
        before that count) and ``stopped`` (``'SIGINT'``/``'SIGTERM'`` if
        a signal stopped the run, else None).
    """
    if detect_every < 1:
        raise ValueError(f'detect_every={detect_every} must be >= 1')
    cap, fps_in, count = open_video(source)
    tracker = IoUTracker(iou_threshold)
    smoother = EMASmoother(smooth) if smooth is not None else None
    classes = list(pipeline.classes)
    writer, csv_file, rows = None, None, 0
    raw_labels: Dict[int, list] = {}
    smooth_labels: Dict[int, list] = {}
    total = min(count, max_frames) if max_frames and count else \
        (count or max_frames or 0)
    bar = ProgressBar(total) if progress and total else None
    dets, ids = FaceDetections.empty(), []
    start = time.perf_counter()
    frames, stopped = 0, None
    stop = _StopGuard()
    try:
        if out_csv:
            os.makedirs(osp.dirname(osp.abspath(out_csv)), exist_ok=True)
            csv_file = open(out_csv, 'w', newline='', encoding='utf-8')
            table = csv.writer(csv_file)
            table.writerow(['frame', 'time_s', 'track', 'x1', 'y1', 'x2',
                            'y2', 'detected', 'label', 'score',
                            'raw_label'] + [f'p_{c}' for c in classes])
        for index, frame in iter_frames(cap, source, max_frames):
            if stop.received is not None:
                break  # Ctrl-C or SIGTERM during the previous frame
            detected = index % detect_every == 0
            if detected:
                dets = pipeline.detect(frame)
                ids = tracker.update(dets.boxes)
                if smoother is not None:
                    smoother.drop(ids)
            elif refine and len(dets):
                dets = redetect_near(pipeline.detector, frame, dets,
                                     iou_threshold)
                for track, box in zip(ids, dets.boxes):  # match from here
                    tracker.boxes[track] = np.asarray(box, np.float64)
            crops, _ = pipeline.align(frame, dets)
            preds = pipeline.classify(crops)
            faces, frame_rows, frame_labels = [], [], []
            for k, pred in enumerate(preds):
                track = ids[k]
                probs = np.array([pred['scores'][c] for c in classes])
                raw = int(np.argmax(probs))
                if smoother is not None:
                    probs = smoother.update(track, probs)
                label = int(np.argmax(probs))
                frame_labels.append((track, raw, label))
                box = [float(v) for v in dets.boxes[k]]
                faces.append(dict(box=box, pred_class=classes[label],
                                  pred_score=float(probs[label]),
                                  scores=dict(zip(classes,
                                                  map(float, probs)))))
                frame_rows.append(
                    [index, f'{index / fps_in:.3f}', track] +
                    [f'{v:.1f}' for v in box] +
                    [int(detected), classes[label], f'{probs[label]:.4f}',
                     classes[raw]] + [f'{p:.4f}' for p in probs])
            if out_video:
                drawn = draw_faces(frame, faces, classes, min_side, ids=ids)
                if hasattr(pipeline, 'label_drawing'):  # the model card
                    drawn = pipeline.label_drawing(drawn)
                if writer is None:
                    writer = _writer(out_video, fps_in,
                                     (drawn.shape[1], drawn.shape[0]))
                writer.write(drawn)
            # The frame is done: its rows, labels and count go in together.
            for track, raw, label in frame_labels:
                raw_labels.setdefault(track, []).append(raw)
                smooth_labels.setdefault(track, []).append(label)
            if csv_file is not None:
                table.writerows(frame_rows)
                csv_file.flush()  # on disk frame by frame
                rows += len(frame_rows)
            frames += 1
            if bar is not None:
                bar.update()
    except KeyboardInterrupt as err:  # a second signal, or raised inside
        stopped = signal.Signals(getattr(err, 'signum', signal.SIGINT)).name
    finally:
        stop.quiet()
        cap.release()
        if writer is not None:
            writer.release()
        if csv_file is not None:
            csv_file.close()
        stop.restore()
    if stopped is None and stop.received is not None:
        stopped = signal.Signals(stop.received).name
    if stopped is not None:
        print_log(f'stopped by {stopped} after {frames} frames; the outputs '
                  'are complete up to there', logger='current',
                  level=logging.WARNING)
    seconds = time.perf_counter() - start
    if bar is not None:
        bar.file.write('\n')
    wanted = min(count, max_frames) if max_frames else count
    ended_early = bool(stopped is None and count and frames < wanted)
    if ended_early:
        print_log(f'video {source} ended after {frames} of the {count} '
                  'frames its header announces (truncated or damaged '
                  'file); the results cover only the frames read',
                  logger='current', level=logging.WARNING)
    summary = dict(
        frames=frames, rows=rows, tracks=len(raw_labels),
        fps_in=fps_in, fps=frames / seconds if seconds > 0 else 0.0,
        seconds=seconds,
        flips_raw=sum(count_flips(v) for v in raw_labels.values()),
        flips_smoothed=sum(count_flips(v) for v in smooth_labels.values()),
        video=out_video, csv=out_csv,
        detector=(type(pipeline.detector).__name__
                  if hasattr(pipeline, 'detector') else None),
        model_card=getattr(pipeline, 'model_card', None),
        frames_announced=count or None, ended_early=ended_early,
        stopped=stopped)
    print_log(f'{frames} frames, {summary["tracks"]} tracks, '
              f'{summary["fps"]:.1f} frames/s', logger='current')
    return summary


def redetect_near(detector, frame: np.ndarray, dets: FaceDetections,
                  iou_threshold: float = 0.3, margin: float = 0.5
                  ) -> FaceDetections:
    """Move held boxes to where the detector finds their faces now.

    For every box, the detector runs on the box widened by ``margin``
    box sides on each side; the hit that overlaps the held box most
    (IoU at least ``iou_threshold``) replaces box, landmarks and score.
    A face not found again keeps its held box (the track goes on).

    Args:
        detector: An object with ``detect`` (see :mod:`.detectors`).
        frame (np.ndarray): The BGR frame.
        dets (FaceDetections): The held faces.
        iou_threshold (float): Overlap a new hit needs with its box.
        margin (float): Search area around each box, in box sides.

    Returns:
        FaceDetections: The faces in the same order.
    """
    h, w = frame.shape[:2]
    boxes, points, scores = (dets.boxes.copy(), dets.landmarks.copy(),
                             dets.scores.copy())
    for k, (x1, y1, x2, y2) in enumerate(dets.boxes):
        mx, my = margin * (x2 - x1), margin * (y2 - y1)
        a, b = int(max(0, x1 - mx)), int(max(0, y1 - my))
        c, d = int(min(w, x2 + mx)), int(min(h, y2 + my))
        if c - a < 8 or d - b < 8:
            continue
        hits = as_detections(detector.detect(frame[b:d, a:c]),
                             type(detector).__name__)
        if not len(hits):
            continue
        shifted = hits.boxes + np.array([a, b, a, b], np.float32)
        iou = box_iou(dets.boxes[k:k + 1], shifted)[0]
        j = int(np.argmax(iou))
        if iou[j] >= iou_threshold:
            boxes[k] = shifted[j]
            points[k] = hits.landmarks[j] + np.array([a, b], np.float32)
            scores[k] = hits.scores[j]
    return FaceDetections(boxes, points, scores)


def write_video(path: str, frames, fps: float = 10.0) -> str:
    """Write BGR frames (all of one size) with OpenCV; returns ``path``."""
    writer = None
    try:
        for frame in frames:
            if writer is None:
                writer = _writer(path, fps, (frame.shape[1], frame.shape[0]))
            writer.write(np.ascontiguousarray(frame))
    finally:
        if writer is not None:
            writer.release()
    if writer is None:
        raise ValueError(f'no frames to write to {path}')
    return path
