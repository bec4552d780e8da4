"""A confusion matrix a person can read: row-normalised recall by default.

FER test sets are imbalanced (RAF-DB: 1,185 happy vs 74 fearful test
faces), so raw counts hide the rare classes; FER papers show the matrix
normalised per true class, whose diagonal is the per-class recall (its mean
is UAR). :func:`plot_confusion_matrix` draws that, with the values in the
cells, an optional count under each value, a title with WAR and UAR, axis
labels and a labelled colour bar.
"""
from typing import Optional, Sequence

import numpy as np

#: ``normalize`` modes of :func:`plot_confusion_matrix`.
NORMALIZE_MODES = ('recall', 'none')


def _as_array(matrix) -> np.ndarray:
    if hasattr(matrix, 'detach'):
        matrix = matrix.detach().cpu().numpy()
    arr = np.asarray(matrix, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise ValueError(f'confusion matrix must be square, got shape '
                         f'{arr.shape}')
    return arr


def recall_matrix(matrix) -> np.ndarray:
    """Normalise each row (true class) to percent; empty rows stay 0.

    Args:
        matrix (array-like): ``[C, C]`` counts, rows = true classes.

    Returns:
        np.ndarray: ``[C, C]`` float64, each non-empty row sums to 100.
    """
    arr = _as_array(matrix)
    rows = arr.sum(axis=1, keepdims=True)
    return np.divide(arr * 100, rows, out=np.zeros_like(arr),
                     where=rows > 0)


def plot_confusion_matrix(matrix,
                          classes: Optional[Sequence[str]] = None,
                          normalize: str = 'recall',
                          include_values: bool = True,
                          include_counts: bool = False,
                          title: Optional[str] = None,
                          cmap: str = 'Blues'):
    """Draw a confusion matrix as a matplotlib figure.

    Args:
        matrix (array-like): ``[C, C]`` counts (rows: true, columns:
            predicted), e.g. mmpretrain's ``confusion_matrix/result``.
        classes (Sequence[str], optional): Class names (default: indices).
        normalize (str): ``'recall'`` (percent of each true class, the
            default) or ``'none'`` (raw counts).
        include_values (bool): Write the value into each cell.
        include_counts (bool): With ``'recall'``, add the count under each
            value.
        title (str, optional): First title line (default: "Confusion
            matrix"); a second line gives WAR, UAR and the test size.
        cmap (str): Matplotlib colour map.

    Returns:
        matplotlib.figure.Figure: The figure (close it after saving).
    """
    import matplotlib.pyplot as plt
    if normalize not in NORMALIZE_MODES:
        raise ValueError(f'normalize={normalize!r} is not one of '
                         f'{NORMALIZE_MODES}')
    counts = _as_array(matrix)
    num = counts.shape[0]
    if classes is None:
        classes = [str(i) for i in range(num)]
    if len(classes) != num:
        raise ValueError(f'{len(classes)} class names for a {num}x{num} '
                         'matrix')
    total = counts.sum()
    rows = counts.sum(axis=1)
    war = 100 * np.trace(counts) / total if total else 0.0
    recalls = recall_matrix(counts).diagonal()
    uar = float(recalls[rows > 0].mean()) if (rows > 0).any() else 0.0
    shown = recall_matrix(counts) if normalize == 'recall' else counts
    vmax = 100.0 if normalize == 'recall' else max(float(shown.max()), 1.0)

    side = max(5.0, 0.75 * num + 2.5)
    fig, ax = plt.subplots(figsize=(side + 1.2, side), dpi=100)
    image = ax.imshow(shown, cmap=cmap, vmin=0, vmax=vmax)
    bar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    bar.set_label('recall of the true class (%)' if normalize == 'recall'
                  else 'number of test images')
    ax.set_xticks(range(num), labels=list(classes), rotation=45,
                  ha='right', rotation_mode='anchor')
    ax.set_yticks(range(num), labels=[
        f'{c} (n={int(n)})' for c, n in zip(classes, rows)])
    ax.set_xlabel('predicted class')
    ax.set_ylabel('true class')
    what = ('rows: percent of each true class (diagonal = recall)'
            if normalize == 'recall' else 'raw counts')
    ax.set_title(f'{title or "Confusion matrix"}\n'
                 f'WAR {war:.1f} %  UAR {uar:.1f} %  ({int(total)} images; '
                 f'{what})', fontsize=10)
    if include_values:
        for r in range(num):
            for c in range(num):
                value = shown[r, c]
                text = f'{value:.1f}' if normalize == 'recall' \
                    else f'{int(value)}'
                if normalize == 'recall' and include_counts:
                    text += f'\n({int(counts[r, c])})'
                dark = value > 0.55 * vmax
                ax.text(c, r, text, ha='center', va='center',
                        fontsize=9 if num <= 8 else 7,
                        color='white' if dark else 'black')
    fig.tight_layout()
    return fig
