"""Calibration: expected calibration error and post-hoc temperature scaling.

* :func:`expected_calibration_error` and :func:`reliability_bins` measure
  how far the confidence (the top softmax probability) is from the
  accuracy, in equal-width confidence bins (Guo et al., "On Calibration of
  Modern Neural Networks", ICML 2017);
* :class:`ECEMetric` is the same number as an mmengine metric, registered
  in mmpretrain's ``METRICS``, for any ``val_evaluator`` /
  ``test_evaluator``;
* :func:`fit_temperature` finds the temperature ``T`` that minimises the
  negative log-likelihood of ``softmax(logits / T)`` on a held-out split;
  the arg-max (and so WAR and UAR) does not change;
* :func:`store_calibration` writes ``T`` into a checkpoint's
  ``meta['calibration']`` and :func:`apply_calibration` sets it on a
  model's head (``head.temperature``) when the checkpoint is loaded.
"""
import math
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmpretrain.registry import METRICS

ArrayLike = Union[np.ndarray, torch.Tensor, Sequence]

#: Default number of equal-width confidence bins (as in Guo et al.).
NUM_BINS = 15
#: Smallest probability used when logits are recovered from probabilities.
_EPS = 1e-30
#: The key of the calibration record in ``checkpoint['meta']``.
META_KEY = 'calibration'


def _as_numpy(x: ArrayLike, dtype=np.float64) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=dtype)


def _check(probs: np.ndarray, labels: np.ndarray) -> None:
    if probs.ndim != 2 or labels.ndim != 1 or len(probs) != len(labels):
        raise ValueError(f'expected probabilities [N, C] and labels [N], '
                         f'got shapes {probs.shape} and {labels.shape}')
    if len(labels) == 0:
        raise ValueError('no samples to compute the calibration error of')
    if labels.min() < 0 or labels.max() >= probs.shape[1]:
        raise ValueError(f'labels must be in 0..{probs.shape[1] - 1}, got '
                         f'{labels.min()}..{labels.max()}')


def reliability_bins(probs: ArrayLike, labels: ArrayLike,
                     num_bins: int = NUM_BINS) -> Dict[str, np.ndarray]:
    """Per-bin counts, mean confidence and accuracy.

    Sample ``i`` falls in bin ``b`` when its confidence ``max_c p_ic`` lies
    in ``(b / B, (b + 1) / B]`` (the first bin also holds 0).

    Args:
        probs (array [N, C]): Class probabilities.
        labels (array [N]): True class indices.
        num_bins (int): Number of equal-width bins. Defaults to 15.

    Returns:
        dict: ``edges`` [B + 1], ``count`` [B], ``confidence`` [B] and
        ``accuracy`` [B] (NaN for empty bins).
    """
    probs = _as_numpy(probs)
    labels = _as_numpy(labels, np.int64).reshape(-1)
    _check(probs, labels)
    if num_bins < 1:
        raise ValueError(f'num_bins={num_bins} must be >= 1')
    conf = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == labels).astype(np.float64)
    edges = np.linspace(0.0, 1.0, num_bins + 1)
    index = np.clip(np.ceil(conf * num_bins).astype(np.int64) - 1, 0,
                    num_bins - 1)
    count = np.bincount(index, minlength=num_bins).astype(np.float64)
    with np.errstate(invalid='ignore', divide='ignore'):
        mean_conf = np.bincount(index, conf, num_bins) / count
        accuracy = np.bincount(index, correct, num_bins) / count
    return dict(edges=edges, count=count, confidence=mean_conf,
                accuracy=accuracy)


def expected_calibration_error(probs: ArrayLike, labels: ArrayLike,
                               num_bins: int = NUM_BINS) -> float:
    """ECE: ``sum_b n_b / N * |accuracy_b - confidence_b|``.

    Args:
        probs (array [N, C]): Class probabilities.
        labels (array [N]): True class indices.
        num_bins (int): Number of equal-width bins. Defaults to 15.

    Returns:
        float: The ECE as a fraction in [0, 1].
    """
    bins = reliability_bins(probs, labels, num_bins)
    used = bins['count'] > 0
    gaps = np.abs(bins['accuracy'][used] - bins['confidence'][used])
    return float((bins['count'][used] * gaps).sum() / bins['count'].sum())


def logits_from_probs(probs: ArrayLike) -> np.ndarray:
    """Logits up to a per-row constant: ``log(p)``.

    ``softmax(log(p) / T) == softmax(z / T)`` for ``p = softmax(z)``, so
    stored probabilities (e.g. ``pred_score`` of ``tools/test.py --out``)
    are enough to fit and apply a temperature.

    Args:
        probs (array [N, C]): Class probabilities.

    Returns:
        np.ndarray: ``log(max(p, 1e-30))`` in float64.
    """
    return np.log(np.maximum(_as_numpy(probs), _EPS))


def softmax(logits: ArrayLike, temperature: float = 1.0) -> np.ndarray:
    """``softmax(logits / temperature)`` over the last axis, in float64."""
    z = _as_numpy(logits) / float(temperature)
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def nll(logits: ArrayLike, labels: ArrayLike,
        temperature: float = 1.0) -> float:
    """Mean negative log-likelihood of ``softmax(logits / temperature)``."""
    z = _as_numpy(logits) / float(temperature)
    labels = _as_numpy(labels, np.int64).reshape(-1)
    m = z.max(axis=1, keepdims=True)
    lse = (m + np.log(np.exp(z - m).sum(axis=1, keepdims=True)))[:, 0]
    return float(np.mean(lse - z[np.arange(len(z)), labels]))


def fit_temperature(logits: ArrayLike, labels: ArrayLike,
                    bounds: Sequence[float] = (0.01, 100.0),
                    iterations: int = 200) -> float:
    """The temperature minimising the NLL of ``softmax(logits / T)``.

    The NLL is convex in ``beta = 1 / T`` (a log-sum-exp of lines minus a
    line), so its derivative ``mean_i(E_p[z_i] - z_iy)`` increases with
    ``beta``; its zero is found by bisection on ``log(beta)``. This is
    deterministic, needs no learning rate, and is exact to float64
    precision after ~60 steps.

    Args:
        logits (array [N, C]): Logits (or ``log`` probabilities) of a
            held-out split.
        labels (array [N]): Its true classes.
        bounds (tuple[float, float]): Range of ``T`` searched. When the
            optimum lies outside, the nearest bound is returned (e.g. a
            split classified perfectly wants ``T -> 0``).
        iterations (int): Bisection steps. Defaults to 200.

    Returns:
        float: ``T``.
    """
    z = _as_numpy(logits)
    labels = _as_numpy(labels, np.int64).reshape(-1)
    _check(z, labels)
    if not np.isfinite(z).all():
        raise ValueError('logits contain NaN or infinite values')
    lo_t, hi_t = float(bounds[0]), float(bounds[1])
    if not 0 < lo_t < hi_t:
        raise ValueError(f'bounds={bounds} must satisfy 0 < low < high')
    z_true = z[np.arange(len(z)), labels]

    def slope(beta: float) -> float:
        p = softmax(z * beta)
        return float(np.mean((p * z).sum(axis=1) - z_true))

    lo, hi = math.log(1.0 / hi_t), math.log(1.0 / lo_t)  # log(beta)
    if slope(math.exp(lo)) >= 0:
        return hi_t
    if slope(math.exp(hi)) <= 0:
        return lo_t
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        if slope(math.exp(mid)) > 0:
            hi = mid
        else:
            lo = mid
        if hi - lo < 1e-12:
            break
    return float(1.0 / math.exp(0.5 * (lo + hi)))


@METRICS.register_module()
class ECEMetric(BaseMetric):
    """Expected calibration error of the predicted probabilities.

    Uses ``pred_score`` of each data sample (the softmax the model
    outputs, after the head's temperature) and its hard ``gt_label``.
    Keys (prefix ``calibration``): ``ece`` (in %, as mmpretrain reports
    accuracy) and ``nll`` (mean negative log-likelihood). Example: ::

        test_evaluator = [
            dict(type='Accuracy', topk=(1, )),
            dict(type='ECEMetric', num_bins=15),
        ]

    Args:
        num_bins (int): Equal-width confidence bins. Defaults to 15.
        collect_device (str): As in mmengine. Defaults to ``'cpu'``.
        prefix (str, optional): Defaults to ``'calibration'``.
    """

    default_prefix = 'calibration'

    def __init__(self, num_bins: int = NUM_BINS, collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if int(num_bins) < 1:
            raise ValueError(f'ECEMetric: num_bins={num_bins} must be >= 1')
        self.num_bins = int(num_bins)

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Keep the probabilities and the label of every sample."""
        for sample in data_samples:
            self.results.append(dict(
                score=sample['pred_score'].cpu().double(),
                label=int(sample['gt_label'].reshape(-1)[0])))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """ECE (%) and NLL over all processed samples."""
        probs = torch.stack([r['score'] for r in results]).numpy()
        labels = np.array([r['label'] for r in results])
        return dict(
            ece=100.0 * expected_calibration_error(probs, labels,
                                                   self.num_bins),
            nll=nll(logits_from_probs(probs), labels))


def calibration_record(logits: ArrayLike, labels: ArrayLike,
                       fitted_on: str, num_bins: int = NUM_BINS) -> dict:
    """Fit ``T`` and describe it as stored in ``meta['calibration']``.

    Args:
        logits (array [N, C]): Held-out logits (or log-probabilities)
            of the model at temperature 1.
        labels (array [N]): Their classes.
        fitted_on (str): A description of the held-out split.
        num_bins (int): ECE bins. Defaults to 15.

    Returns:
        dict: ``temperature``, ``fitted_on``, ``num_samples``,
        ``ece_before`` / ``ece_after`` (%), ``nll_before`` / ``nll_after``
        and ``num_bins``.
    """
    z = _as_numpy(logits)
    labels = _as_numpy(labels, np.int64).reshape(-1)
    t = fit_temperature(z, labels)
    return dict(
        temperature=t, fitted_on=str(fitted_on), num_samples=int(len(z)),
        num_bins=int(num_bins),
        ece_before=100.0 * expected_calibration_error(softmax(z), labels,
                                                      num_bins),
        ece_after=100.0 * expected_calibration_error(softmax(z, t), labels,
                                                     num_bins),
        nll_before=nll(z, labels), nll_after=nll(z, labels, t))


def store_calibration(checkpoint: str, record: dict) -> dict:
    """Write ``record`` into ``checkpoint['meta']['calibration']``.

    The file is read under the plugin's loading policy and rewritten
    atomically (:func:`~mpa_fer_plugin.utils.safe_checkpoint.
    atomic_torch_save`); the tensors are unchanged.

    Args:
        checkpoint (str): The checkpoint file.
        record (dict): With a positive float ``temperature``.

    Returns:
        dict: The checkpoint's new ``meta``.
    """
    from ..utils.safe_checkpoint import atomic_torch_save, safe_torch_load
    check_temperature(record.get('temperature'), checkpoint)
    ckpt = safe_torch_load(checkpoint, map_location='cpu')
    if not isinstance(ckpt, dict) or 'state_dict' not in ckpt:
        raise ValueError(f'{checkpoint} is not an mmengine checkpoint (a '
                         'dict with state_dict and meta)')
    meta = dict(ckpt.get('meta') or {})
    meta[META_KEY] = dict(record)
    ckpt['meta'] = meta
    atomic_torch_save(ckpt, checkpoint)
    return meta


def check_temperature(value, source: str = 'the checkpoint') -> float:
    """Return ``value`` as a float if it is a finite number > 0."""
    try:
        t = float(value)
    except (TypeError, ValueError):
        t = float('nan')
    if isinstance(value, bool) or not math.isfinite(t) or t <= 0:
        raise ValueError(f'{source}: calibration temperature {value!r} must '
                         'be a finite number > 0')
    return t


def apply_calibration(model: torch.nn.Module, checkpoint: dict,
                      filename: str = 'the checkpoint') -> float:
    """Set ``model.head.temperature`` from a loaded checkpoint's meta.

    A checkpoint without ``meta['calibration']`` sets 1 (the raw softmax),
    so loading another checkpoint never keeps an earlier temperature.

    Args:
        model (nn.Module): A model whose head has ``temperature``.
        checkpoint (dict): The loaded checkpoint.
        filename (str): Named in error messages.

    Returns:
        float: The temperature set.
    """
    meta = (checkpoint.get('meta') or {}) if isinstance(checkpoint,
                                                        dict) else {}
    record = meta.get(META_KEY)
    t = 1.0 if not record else check_temperature(record.get('temperature'),
                                                  filename)
    head = getattr(model, 'head', None)
    if head is not None and hasattr(head, 'temperature'):
        head.temperature = t
    elif t != 1.0:
        raise ValueError(f'{filename} stores a calibration temperature but '
                         f'{type(model).__name__} has no head.temperature')
    return t
