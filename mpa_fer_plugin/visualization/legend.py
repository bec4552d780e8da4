"""Title, colour bar and caption around a drawn heatmap (OpenCV only).

Used by the CGLA heatmaps and ``tools/visualization/vis_cam.py`` so that a
picture explains itself at the size it is written: text is drawn at a
fixed, legible size (not scaled down with small images) and wrapped to the
canvas width.
"""
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np

FONT = cv2.FONT_HERSHEY_SIMPLEX
#: Font scale of the legend text (about 10 px capitals).
FONT_SCALE = 0.42
LINE_GAP = 6
PAD = 6


def _wrap(text: str, width: int, scale: float) -> list:
    """Split ``text`` into lines no wider than ``width`` pixels."""
    lines, current = [], ''
    for word in text.split(' '):
        trial = f'{current} {word}'.strip()
        if current and cv2.getTextSize(trial, FONT, scale, 1)[0][0] > width:
            lines.append(current)
            current = word
        else:
            current = trial
    if current:
        lines.append(current)
    return lines


def _text_block(lines: Sequence[str], width: int, scale: float,
                bold_first: bool = False) -> np.ndarray:
    """White RGB block with black text lines, wrapped to ``width``."""
    wrapped = []
    for i, line in enumerate(lines):
        for part in _wrap(line, width - 2 * PAD, scale):
            wrapped.append((part, bold_first and i == 0))
    line_h = cv2.getTextSize('Ag', FONT, scale, 1)[0][1] + LINE_GAP + 3
    block = np.full((PAD + line_h * len(wrapped) + PAD // 2, width, 3), 255,
                    np.uint8)
    for i, (part, bold) in enumerate(wrapped):
        y = PAD + line_h * i + line_h - LINE_GAP
        cv2.putText(block, part, (PAD, y), FONT, scale, (0, 0, 0),
                    2 if bold else 1, cv2.LINE_AA)
    return block


def colorbar(height: int,
             vmin: float,
             vmax: float,
             label: str,
             colormap: int = cv2.COLORMAP_JET,
             scale: float = FONT_SCALE) -> np.ndarray:
    """A vertical colour bar (high values on top) with its value labels.

    Args:
        height (int): Height of the bar in pixels.
        vmin (float): Value of the lowest colour.
        vmax (float): Value of the highest colour.
        label (str): Short name of the quantity (written above the bar).
        colormap (int): OpenCV colour map of the heatmap.
        scale (float): Font scale.

    Returns:
        np.ndarray: RGB ``uint8`` ``[height, w, 3]``.
    """
    bar_w = 14
    ramp = np.linspace(255, 0, max(height - 2 * PAD, 2)).astype(np.uint8)
    ramp = cv2.applyColorMap(np.repeat(ramp[:, None], bar_w, axis=1),
                             colormap)[..., ::-1]
    texts = [f'{vmax:.2f}', f'{(vmin + vmax) / 2:.2f}', f'{vmin:.2f}']
    text_w = max(cv2.getTextSize(t, FONT, scale, 1)[0][0] for t in texts)
    width = bar_w + text_w + 3 * PAD
    out = np.full((height, width, 3), 255, np.uint8)
    out[PAD:PAD + len(ramp), PAD:PAD + bar_w] = ramp
    cv2.rectangle(out, (PAD, PAD), (PAD + bar_w - 1, PAD + len(ramp) - 1),
                  (0, 0, 0), 1)
    th = cv2.getTextSize('0', FONT, scale, 1)[0][1]
    for text, y in zip(texts, (PAD + th, height // 2 + th // 2,
                               height - PAD)):
        cv2.putText(out, text, (2 * PAD + bar_w, y), FONT, scale,
                    (0, 0, 0), 1, cv2.LINE_AA)
    del label  # written in the caption, where it can wrap
    return out


def add_legend(image: np.ndarray,
               title: Sequence[str],
               caption: Sequence[str] = (),
               bar: Optional[Tuple[float, float, str]] = None,
               colormap: int = cv2.COLORMAP_JET,
               min_width: int = 320) -> np.ndarray:
    """Put a title above, a colour bar right of and a caption below an image.

    Args:
        image (np.ndarray): RGB ``uint8`` heatmap drawing.
        title (Sequence[str]): Title lines (the first in bold).
        caption (Sequence[str]): Explanation lines under the image.
        bar (tuple, optional): ``(vmin, vmax, label)`` of the colour bar.
        colormap (int): OpenCV colour map used for the heatmap.
        min_width (int): Minimum canvas width, so that the text has room
            next to small images.

    Returns:
        np.ndarray: RGB ``uint8``, larger than ``image``.
    """
    h, w = image.shape[:2]
    parts = [image]
    if bar is not None:
        parts.append(colorbar(h, bar[0], bar[1], bar[2], colormap))
    row = np.concatenate(parts, axis=1)
    width = max(row.shape[1], min_width)
    if row.shape[1] < width:
        left = (width - row.shape[1]) // 2
        padded = np.full((h, width, 3), 255, np.uint8)
        padded[:, left:left + row.shape[1]] = row
        row = padded
    blocks = [_text_block(title, width, FONT_SCALE + 0.08, bold_first=True),
              row]
    if caption:
        blocks.append(_text_block(caption, width, FONT_SCALE))
    return np.concatenate(blocks, axis=0)
