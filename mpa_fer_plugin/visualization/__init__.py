"""Visualisation of MPA-FER predictions (CGLA patch heatmaps)."""
from .cgla_heatmap import (
    cgla_heatmap,
    cgla_patch_maps,
    draw_cgla_heatmap,
    render_cgla_heatmap,
)

__all__ = [
    'cgla_patch_maps', 'cgla_heatmap', 'render_cgla_heatmap',
    'draw_cgla_heatmap'
]
