"""Draw per-face results: box, label and a small probability bar chart.

Small images (the 64-100 px crops of FER datasets, thumbnails, small video
frames) are upscaled before drawing so that the text stays readable: the
shorter side becomes at least ``min_side`` pixels (default 480).
A probability panel never covers a face box, a label or another panel
(:func:`face_layout`); the drawing keeps the image's size, so video frames
can be drawn with it.
"""
from typing import Any, Dict, List, Optional, Sequence, Tuple

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


Rect = Tuple[int, int, int, int]


def _overlaps(cands: np.ndarray, rects: Sequence[Rect],
              gap: int = 2) -> np.ndarray:
    """Which candidate rectangles ``[n, 4]`` touch any of ``rects``."""
    if not len(rects):
        return np.zeros(len(cands), bool)
    r = np.asarray(rects, np.int64)[None]  # [1, m, 4]
    c = cands[:, None]  # [n, 1, 4]
    inter_x = np.minimum(c[..., 2], r[..., 2] + gap) > np.maximum(
        c[..., 0], r[..., 0] - gap)
    inter_y = np.minimum(c[..., 3], r[..., 3] + gap) > np.maximum(
        c[..., 1], r[..., 1] - gap)
    return (inter_x & inter_y).any(axis=1)


def place_panel(box: Rect, size: Tuple[int, int], obstacles: Sequence[Rect],
                shape: Tuple[int, ...], step: int = 8) -> Optional[Rect]:
    """Where a panel of ``size`` goes without covering any obstacle.

    Tries the sides of ``box`` first (right, left, below, above; aligned
    with its top/left or bottom/right edge), then every position of a grid
    over the image, nearest to the box first.

    Args:
        box (tuple): The face box ``(x1, y1, x2, y2)``.
        size (tuple): Panel width and height.
        obstacles (Sequence[tuple]): Rectangles the panel must not touch
            (every face box, every label, panels already placed).
        shape (tuple): Image shape (height, width, ...).
        step (int): Grid step of the image-wide search, in pixels.

    Returns:
        tuple | None: The panel rectangle ``(x1, y1, x2, y2)``, or None
        when no free place exists.
    """
    x1, y1, x2, y2 = box
    w, h = size
    H, W = shape[:2]
    if w > W or h > H:
        return None
    near = [(x2 + 4, y1), (x1 - w - 4, y1), (x1, y2 + 4), (x1, y1 - h - 4),
            (x2 + 4, y2 - h), (x1 - w - 4, y2 - h), (x2 - w, y2 + 4),
            (x2 - w, y1 - h - 4)]
    near = np.array([(min(max(0, x), W - w), min(max(0, y), H - h))
                     for x, y in near], np.int64)
    gx, gy = np.meshgrid(np.arange(0, W - w + 1, step),
                         np.arange(0, H - h + 1, step))
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.int64)
    centre = np.array([(x1 + x2 - w) / 2, (y1 + y2 - h) / 2])
    grid = grid[np.argsort(((grid - centre) ** 2).sum(axis=1),
                           kind='stable')]
    tops = np.concatenate([near, grid])
    cands = np.concatenate([tops, tops + np.array([w, h])], axis=1)
    free = np.nonzero(~_overlaps(cands, obstacles))[0]
    return tuple(int(v) for v in cands[free[0]]) if len(free) else None


def face_layout(shape: Tuple[int, ...], faces: List[dict],
                n_classes: int, min_side: int = 480,
                bars: bool = True,
                ids: Optional[Sequence[int]] = None) -> Dict[str, Any]:
    """Positions of the boxes, labels and bar panels of :func:`draw_faces`.

    A panel never covers a face box, a label or another panel: it goes
    next to its face where that is free, else to the nearest free place
    of the image, drawn smaller if needed; a face without room for a panel
    keeps its label only.

    Args:
        shape (tuple): Shape of the image before upscaling.
        faces (list[dict]): Face results (``box``, ``pred_class``,
            ``pred_score``; ``scores`` for a panel).
        n_classes (int): Rows of each panel.
        min_side (int): Upscale target of :func:`upscale`.
        bars (bool): Lay out panels.
        ids (Sequence[int], optional): Label numbers (default 1, 2, ...).

    Returns:
        dict: ``scale`` (coordinate factor), ``font`` (label font scale),
        ``thickness``, ``boxes``, ``labels`` (rectangles), ``label_text``,
        ``panels`` (rectangle or None per face) and ``panel_font``.
    """
    h, w = shape[:2]
    k = max(1.0, float(min_side) / max(1, min(h, w)))
    out_shape = (int(round(h * k)), int(round(w * k))) if k > 1 else (h, w)
    short = min(out_shape)
    scale = max(0.4, min(0.8, short / 900))
    boxes, labels, texts = [], [], []
    for face in faces:
        x1, y1, x2, y2 = (int(round(v * k)) for v in face['box'])
        boxes.append((x1, y1, x2, y2))
        text = f"{face['pred_class']} {face['pred_score']:.2f}"
        texts.append(text)
        ident = ids[len(texts) - 1] if ids is not None else len(texts)
        (tw, th), base = cv2.getTextSize(f'{ident}: {text}', _FONT, scale,
                                         1)
        if y1 - th - 8 >= 0:  # above the box
            ty = y1 - 6
        elif y2 + th + base + 8 <= out_shape[0]:  # below it
            ty = y2 + th + 6
        else:  # inside its top (e.g. the whole image is the face)
            ty = y1 + th + 6
        labels.append((x1, ty - th - 4, x1 + tw + 6, ty + base))
    panels, fonts = [], []
    obstacles = boxes + labels
    for n, face in enumerate(faces):
        rect, font = None, scale * 0.8
        if bars and face.get('scores'):
            for shrink in (1.0, 0.8, 0.65):
                font = max(0.3, scale * 0.8 * shrink)
                size = _panel_size(n_classes or len(face['scores']),
                                   font)[:2]
                rect = place_panel(boxes[n], size, obstacles, out_shape)
                if rect is not None:
                    obstacles = obstacles + [rect]
                    break
        panels.append(rect)
        fonts.append(font)
    return dict(scale=k, font=scale, thickness=max(1, int(round(short /
                                                                320))),
                boxes=boxes, labels=labels, label_text=texts,
                panels=panels, panel_font=fonts)


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
    out, _ = upscale(image, min_side)
    names = list(classes) if classes else None
    layout = face_layout(image.shape, faces,
                         len(names) if names else 0, min_side, bars, ids)
    scale, thick = layout['font'], layout['thickness']
    for n, face in enumerate(faces):
        ident = ids[n] if ids is not None else n + 1
        color = PALETTE[int(ident) % len(PALETTE)]
        x1, y1, x2, y2 = layout['boxes'][n]
        cv2.rectangle(out, (x1, y1), (x2, y2), color, thick, cv2.LINE_AA)
        lx1, ly1, lx2, ly2 = layout['labels'][n]
        label = f"{ident}: {layout['label_text'][n]}"
        (_, th), base = cv2.getTextSize(label, _FONT, scale, 1)
        cv2.rectangle(out, (lx1, ly1), (lx2, ly2), color, -1)
        cv2.putText(out, label, (lx1 + 3, ly2 - base - 1), _FONT, scale,
                    (0, 0, 0), 1, cv2.LINE_AA)
    for n, face in enumerate(faces):
        rect = layout['panels'][n]
        if rect is None:
            continue
        ident = ids[n] if ids is not None else n + 1
        color = PALETTE[int(ident) % len(PALETTE)]
        row_names = names or list(face['scores'])
        probs = [face['scores'].get(c, 0.0) for c in row_names]
        _bars(out, rect[0], rect[1], row_names, probs,
              layout['panel_font'][n], color)
        cv2.rectangle(out, rect[:2], (rect[2] - 1, rect[3] - 1), color, 1)
    return out
