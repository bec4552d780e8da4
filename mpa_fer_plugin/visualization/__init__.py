"""Visualisation of MPA-FER predictions (CGLA heatmaps, confusion matrix)."""
from .cgla_heatmap import (
    cgla_heatmap,
    cgla_patch_maps,
    draw_cgla_heatmap,
    render_cgla_heatmap,
)
from .confusion import plot_confusion_matrix, recall_matrix

__all__ = [
    'cgla_patch_maps', 'cgla_heatmap', 'render_cgla_heatmap',
    'draw_cgla_heatmap', 'plot_confusion_matrix', 'recall_matrix'
]
