"""Metrics and evaluation hooks of the protocols (base-to-novel, cross)."""
from .base_novel_metric import BaseNovelMetric, harmonic_mean
from .calibration import ECEMetric, fit_temperature
from .eval_classnames_hook import EvalClassNamesHook

__all__ = ['BaseNovelMetric', 'harmonic_mean', 'EvalClassNamesHook',
           'ECEMetric', 'fit_temperature']
