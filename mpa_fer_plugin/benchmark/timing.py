"""Interleaved timing of several variants on the same inputs.

Variants are timed in turn (one call of each per round, order alternating)
after warm-up, so slow phases of a shared machine hit all of them alike;
ratios are the median of the per-round ratios.
"""
import statistics
import time
from typing import Callable, Dict

import torch


def sync(device: torch.device) -> None:
    """Wait for the device (CUDA) to finish queued work."""
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def time_interleaved(fns: Dict[str, Callable[[], object]],
                     repeats: int,
                     warmup: int,
                     device: torch.device) -> Dict[str, Dict[str, list]]:
    """Time several callables in turn, ``repeats`` rounds after warm-up.

    Each call is timed by the wall clock and by this process's CPU time
    (all threads): another job on a shared machine stretches the first
    but hardly the second, which does not count time spent waiting for a
    core.

    Args:
        fns (dict[str, callable]): Variant name -> a call to time.
        repeats (int): Timed rounds; each round calls every variant once.
        warmup (int): Untimed rounds before.
        device (torch.device): Synchronised around every call on CUDA.

    Returns:
        dict: ``{'wall': {name: [s, ...]}, 'cpu': {name: [s, ...]}}``,
        seconds per call in round order.
    """
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    sync(device)
    times = {'wall': {name: [] for name in fns},
             'cpu': {name: [] for name in fns}}
    for r in range(repeats):
        # Alternate the order so no variant always runs after the same one.
        names = list(fns) if r % 2 == 0 else list(fns)[::-1]
        for name in names:
            sync(device)
            wall, cpu = time.perf_counter(), time.process_time()
            fns[name]()
            sync(device)
            times['cpu'][name].append(time.process_time() - cpu)
            times['wall'][name].append(time.perf_counter() - wall)
    return times


def summarize(times: Dict[str, Dict[str, list]], baseline: str) -> Dict:
    """Median, spread and paired ratio to ``baseline`` of each variant.

    Args:
        times (dict): Output of :func:`time_interleaved`.
        baseline (str): The variant the ratios divide by.

    Returns:
        dict: Per variant, from the wall clock: ``median_s``, ``min_s``,
        ``max_s``, ``ratio`` (median over rounds of
        ``t_variant / t_baseline``) with ``ratio_min``/``ratio_max`` and
        ``ratio_of_minima`` (the least disturbed call of each); from CPU
        time: ``cpu_median_s``, ``cpu_ratio``, ``cpu_ratio_min`` and
        ``cpu_ratio_max``.
    """
    out = {}
    for name in times['wall']:
        row = {}
        for clock, prefix in (('wall', ''), ('cpu', 'cpu_')):
            ts, base = times[clock][name], times[clock][baseline]
            ratios = [t / max(b, 1e-9) for t, b in zip(ts, base)]
            row.update({
                f'{prefix}median_s': statistics.median(ts),
                f'{prefix}ratio': statistics.median(ratios),
                f'{prefix}ratio_min': min(ratios),
                f'{prefix}ratio_max': max(ratios)})
        wall = times['wall'][name]
        row.update(min_s=min(wall), max_s=max(wall),
                   ratio_of_minima=min(wall) / min(times['wall'][baseline]))
        out[name] = row
    return out
