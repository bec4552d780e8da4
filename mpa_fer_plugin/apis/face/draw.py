"""Draw per-face results: box, label and a small probability bar chart.

Small images (the 64-100 px crops of FER datasets, thumbnails, small video
frames) are upscaled before drawing so that the text stays readable: the
shorter side becomes at least ``min_side`` pixels (default 480).
"""
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

_FONT = cv2.FONT_HERSHEY_SIMPLEX
#: Box colours (BGR), one per face or track, cycled.
PALETTE = ((0, 200, 255), (255, 160, 0), (80, 220, 80), (230, 80, 230),
           (60, 60, 255), (255, 255, 80))


def upscale(image: np.ndarray, min_side: int = 480
            ) -> Tuple[np.ndarray, float]:
    """Enlarge ``image`` so its shorter side is at least ``min_side``.

    Returns:
        tuple[np.ndarray, float]: The (possibly unchanged) image and the
        factor applied to coordinates.
    """
    h, w = image.shape[:2]
    k = max(1.0, float(min_side) / max(1, min(h, w)))
    if k == 1.0:
        return image.copy(), 1.0
    size = (int(round(w * k)), int(round(h * k)))
    return cv2.resize(image, size, interpolation=cv2.INTER_CUBIC), k


def _text(img, text, org, scale, color, thick=1) -> None:
    """Text with a dark outline, readable on any background."""
    cv2.putText(img, text, org, _FONT, scale, (0, 0, 0), thick + 2,
                cv2.LINE_AA)
    cv2.putText(img, text, org, _FONT, scale, color, thick, cv2.LINE_AA)


def _panel_size(n: int, scale: float) -> Tuple[int, int, int, int]:
    """Width, height, label width and row height of a bar panel."""
    (tw, th), _ = cv2.getTextSize('Ang', _FONT, scale, 1)
    row = th + 6
    return tw + 6 * th + 12, row * n + 4, tw, row


def _place(box, size, boxes, shape) -> Tuple[int, int]:
    """Right of, left of, below or inside ``box``: least covered faces."""
    x1, y1, x2, y2 = box
    w, h = size
    H, W = shape[:2]
    best, where = None, (x2 + 4, y1)
    for x, y in ((x2 + 4, y1), (x1 - w - 4, y1), (x1, y2 + 4),
                 (x1, y1 - h - 4), (x2 - w, y1)):
        x = int(min(max(0, x), max(0, W - w)))
        y = int(min(max(0, y), max(0, H - h)))
        cover = sum(max(0, min(x + w, b[2]) - max(x, b[0])) *
                    max(0, min(y + h, b[3]) - max(y, b[1])) for b in boxes)
        if best is None or cover < best:
            best, where = cover, (x, y)
    return where


def _bars(img: np.ndarray, x: int, y: int, classes: Sequence[str],
          probs: Sequence[float], scale: float, color) -> None:
    """A panel of horizontal probability bars with its top-left at x, y."""
    names = [c[:3] for c in classes]
    (_, th), _ = cv2.getTextSize('Ang', _FONT, scale, 1)
    w, h, tw, row = _panel_size(len(names), scale)
    bar_w = 6 * th
    roi = img[y:y + h, x:x + w]
    roi[:] = (0.35 * roi).astype(img.dtype)  # darken behind the panel
    best = int(np.argmax(probs)) if len(probs) else -1
    for i, (name, p) in enumerate(zip(names, probs)):
        top = y + 2 + i * row
        _text(img, name, (x + 3, top + th + 1), scale, (255, 255, 255))
        x0 = x + tw + 8
        cv2.rectangle(img, (x0, top + 2), (x0 + bar_w, top + row - 2),
                      (90, 90, 90), 1)
        fill = x0 + int(round(bar_w * float(np.clip(p, 0, 1))))
        cv2.rectangle(img, (x0, top + 2), (fill, top + row - 2),
                      color if i == best else (200, 200, 200), -1)


def draw_faces(image: np.ndarray, faces: List[dict],
               classes: Optional[Sequence[str]] = None,
               min_side: int = 480, bars: bool = True,
               ids: Optional[Sequence[int]] = None) -> np.ndarray:
    """Draw every face's box, top expression and probability bars.

    Args:
        image (np.ndarray): The BGR image the results belong to.
        faces (list[dict]): Results of :class:`~.pipeline.FERPipeline`
            (``box``, ``pred_class``, ``pred_score``, ``scores``).
        classes (Sequence[str], optional): Bar order; default: the order
            of each face's ``scores``.
        min_side (int): Upscale small images to this shorter side first.
            Defaults to 480.
        bars (bool): Draw the probability panel. Defaults to True.
        ids (Sequence[int], optional): Labels such as track ids; default
            1, 2, ... in the order of ``faces``.

    Returns:
        np.ndarray: The drawn BGR image (upscaled if it was small).
    """
    out, k = upscale(image, min_side)
    short = min(out.shape[:2])
    scale = max(0.4, min(0.8, short / 900))
    thick = max(1, int(round(short / 320)))
    boxes = [[v * k for v in face['box']] for face in faces]
    for n, face in enumerate(faces):
        ident = ids[n] if ids is not None else n + 1
        color = PALETTE[int(ident) % len(PALETTE)]
        x1, y1, x2, y2 = (int(round(v * k)) for v in face['box'])
        cv2.rectangle(out, (x1, y1), (x2, y2), color, thick, cv2.LINE_AA)
        label = f"{ident}: {face['pred_class']} {face['pred_score']:.2f}"
        (tw, th), base = cv2.getTextSize(label, _FONT, scale, 1)
        if y1 - th - 8 >= 0:  # above the box
            ty = y1 - 6
        elif y2 + th + base + 8 <= out.shape[0]:  # below it
            ty = y2 + th + 6
        else:  # inside its top (e.g. the whole image is the face)
            ty = y1 + th + 6
        cv2.rectangle(out, (x1, ty - th - 4), (x1 + tw + 6, ty + base),
                      color, -1)
        cv2.putText(out, label, (x1 + 3, ty - 1), _FONT, scale, (0, 0, 0), 1,
                    cv2.LINE_AA)
        if bars and face.get('scores'):
            names = list(classes or face['scores'])
            probs = [face['scores'].get(c, 0.0) for c in names]
            size = _panel_size(len(names), scale * 0.8)[:2]
            px, py = _place((x1, y1, x2, y2), size, boxes, out.shape)
            _bars(out, px, py, names, probs, scale * 0.8, color)
    return out
