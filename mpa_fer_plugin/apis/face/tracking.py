"""Tracking faces between detections by box overlap, and EMA smoothing.

:class:`IoUTracker` gives every detected face a track id: a new box
continues the track whose last box it overlaps most (IoU at least
``iou_threshold``, matched greedily from the largest overlap); a track not
matched for ``max_missed`` detection rounds ends. :class:`EMASmoother`
keeps one exponential moving average of the class probabilities per track,
``p_t = alpha * x_t + (1 - alpha) * p_{t-1}`` (the first value is taken as
it is), which removes one-frame label flips. :func:`count_flips` counts
label changes of a sequence, to measure that.
"""
from typing import Dict, List, Optional, Sequence

import numpy as np


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of ``(N, 4)`` and ``(M, 4)`` ``x1, y1, x2, y2`` boxes.

    Returns:
        np.ndarray: ``(N, M)`` intersection over union.
    """
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


class IoUTracker:
    """Greedy IoU association of detections to tracks.

    Args:
        iou_threshold (float): Smallest overlap that continues a track.
            Defaults to 0.3.
        max_missed (int): Detection rounds a track survives unmatched.
            Defaults to 2.
    """

    def __init__(self, iou_threshold: float = 0.3,
                 max_missed: int = 2) -> None:
        if not 0 < iou_threshold <= 1:
            raise ValueError(f'iou_threshold={iou_threshold} must be in '
                             '(0, 1]')
        self.iou_threshold, self.max_missed = iou_threshold, max_missed
        self.boxes: Dict[int, np.ndarray] = {}
        self.missed: Dict[int, int] = {}
        self.next_id = 1

    def update(self, boxes: np.ndarray) -> List[int]:
        """Assign track ids to one round of detections.

        Args:
            boxes (np.ndarray): ``(N, 4)`` boxes of this round.

        Returns:
            list[int]: The track id of each box.
        """
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        ids: List[Optional[int]] = [None] * len(boxes)
        tracks = list(self.boxes)
        if tracks and len(boxes):
            iou = box_iou(boxes, np.stack([self.boxes[t] for t in tracks]))
            for flat in np.argsort(-iou, axis=None, kind='stable'):
                i, j = divmod(int(flat), len(tracks))
                if iou[i, j] < self.iou_threshold:
                    break
                if ids[i] is None and tracks[j] not in ids:
                    ids[i] = tracks[j]
        for i, box in enumerate(boxes):
            if ids[i] is None:
                ids[i] = self.next_id
                self.next_id += 1
            self.boxes[ids[i]] = box
            self.missed[ids[i]] = 0
        for t in tracks:
            if t not in ids:
                self.missed[t] += 1
                if self.missed[t] > self.max_missed:
                    del self.boxes[t], self.missed[t]
        return [int(i) for i in ids]


class EMASmoother:
    """Per-track exponential moving average of probability vectors.

    Args:
        alpha (float): Weight of the new frame, in (0, 1]; 1 is no
            smoothing. Defaults to 0.3.
    """

    def __init__(self, alpha: float = 0.3) -> None:
        if not 0 < alpha <= 1:
            raise ValueError(f'alpha={alpha} must be in (0, 1]')
        self.alpha = alpha
        self.state: Dict[int, np.ndarray] = {}

    def update(self, track: int, probs: Sequence[float]) -> np.ndarray:
        """Smooth one track's probabilities; returns the new average."""
        x = np.asarray(probs, np.float64)
        prev = self.state.get(track)
        cur = x if prev is None else self.alpha * x + (1 - self.alpha) * prev
        self.state[track] = cur
        return cur

    def drop(self, keep: Sequence[int]) -> None:
        """Forget the tracks not in ``keep``."""
        for t in set(self.state) - set(keep):
            del self.state[t]


def count_flips(labels: Sequence) -> int:
    """Number of times consecutive labels differ."""
    return int(sum(a != b for a, b in zip(labels, labels[1:])))
