"""Peak memory of a training process, each variant in its own subprocess.

A fresh Python process builds one variant, runs ``steps`` training steps
and reports its peak resident set size (``VmHWM`` of
``/proc/self/status``; ``ru_maxrss`` elsewhere) and, on CUDA,
``torch.cuda.max_memory_allocated``. One process per variant, one at a
time, so no variant's memory (or the allocator's cache of another) is
counted in another's figure. Run as
``python -m mpa_fer_plugin.benchmark.memory '<json spec>'``.

On CPU the peak RSS also counts memory that PyTorch has freed but glibc's
``malloc`` keeps: after a large block is freed, glibc raises its mmap
threshold (up to 32 MiB) and serves later blocks of that size from the
heap, which it rarely gives back. A spec's ``mmap_threshold`` sets
``MALLOC_MMAP_THRESHOLD_`` in the subprocess (a fixed threshold: blocks
above it are mapped and unmapped on free), which measures closer to the
live tensors; the step times show what it costs. A spec's ``low_memory``
runs the process as ``tools/train.py --low-memory`` does (the allocator
settings of :mod:`mpa_fer_plugin.utils.low_memory`).
"""
import json
import os
import resource
import subprocess
import sys
import time
from typing import Dict, Optional

from ..utils.low_memory import low_memory_env
from .models import ROOT

_MARK = 'MEMORY_RESULT '


def _status_kib(field: str) -> Optional[int]:
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith(field + ':'):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def peak_rss_bytes() -> int:
    """Peak resident set size of this process so far, in bytes."""
    kib = _status_kib('VmHWM')
    if kib is None:  # not Linux: ru_maxrss (KiB on Linux, bytes on macOS)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return rss if sys.platform == 'darwin' else rss * 1024
    return kib * 1024


def rss_bytes() -> Optional[int]:
    """Current resident set size in bytes (None where unknown)."""
    kib = _status_kib('VmRSS')
    return None if kib is None else kib * 1024


def measure(spec: dict) -> Dict[str, int]:
    """Build the variant of ``spec`` here and measure its training steps.

    Args:
        spec (dict): ``variant`` (a model name of
            :data:`~.models.MODEL_CONFIGS` or ``'full'``), ``clip`` (spec),
            ``batch``, ``device``, ``threads``, and optionally ``with_cp``,
            ``amp``, ``topk``, ``steps`` (default 2), ``mmap_threshold``
            and ``low_memory`` (used by :func:`measure_in_subprocess`).

    Returns:
        dict: ``peak_rss_bytes``, ``rss_after_build_bytes``,
        ``step_rss_increase_bytes`` (peak minus after build), ``step_s``
        (wall seconds of each step) and, on CUDA, ``cuda_peak_bytes``.
    """
    import torch
    if spec.get('threads'):
        torch.set_num_threads(spec['threads'])
    import mpa_fer_plugin  # noqa: F401

    from .models import (
        build_plugin_model,
        make_batch,
        make_full_ft_step,
        make_train_step,
        zero_shot_text_features,
    )
    device = torch.device(spec['device'])
    name = spec['variant']
    if name == 'full':
        from ..datasets.categories import FER7_CLASSES
        from ..models.utils import clear_clip_cache, load_clip
        clip_model = load_clip(spec['clip'], use_cache=False).to(device)
        clear_clip_cache()
        text = zero_shot_text_features(clip_model, FER7_CLASSES,
                                       spec['clip'])
        size = clip_model.visual.image_size
        size = size[0] if isinstance(size, (tuple, list)) else size
        gen = torch.Generator().manual_seed(0)
        inputs = torch.randn(spec['batch'], 3, size, size,
                             generator=gen).to(device)
        labels = torch.arange(spec['batch'], device=device) % len(
            FER7_CLASSES)
        step = make_full_ft_step(clip_model, text, inputs, labels)
    else:
        model = build_plugin_model(name, spec['clip'], device,
                                   spec.get('topk'),
                                   spec.get('with_cp', False))
        size = model.backbone.visual.image_size
        size = size[0] if isinstance(size, (tuple, list)) else size
        data = make_batch(size, spec['batch'], len(model.head.classnames),
                          device)
        step = make_train_step(model, data, amp=spec.get('amp', False))
    after_build = rss_bytes()
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    step_s = []
    for _ in range(spec.get('steps', 2)):
        start = time.perf_counter()
        step()
        step_s.append(time.perf_counter() - start)
    out = dict(peak_rss_bytes=peak_rss_bytes(),
               rss_after_build_bytes=after_build, step_s=step_s)
    if after_build is not None:
        out['step_rss_increase_bytes'] = out['peak_rss_bytes'] - after_build
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
        out['cuda_peak_bytes'] = torch.cuda.max_memory_allocated(device)
    return out


def measure_in_subprocess(spec: dict, timeout: float = 3600) -> Dict:
    """Run :func:`measure` in a fresh interpreter and return its result.

    Raises:
        RuntimeError: If the subprocess fails (its output's tail is in the
            message).
    """
    env = dict(os.environ, HF_HUB_OFFLINE='1',
               PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH',
                                                             ''))
    if spec.get('threads'):
        env['OMP_NUM_THREADS'] = str(spec['threads'])
    if spec.get('low_memory'):
        env = low_memory_env(env)
    if spec.get('mmap_threshold'):
        env['MALLOC_MMAP_THRESHOLD_'] = str(int(spec['mmap_threshold']))
    proc = subprocess.run(
        [sys.executable, '-m', 'mpa_fer_plugin.benchmark.memory',
         json.dumps(spec)], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=timeout)
    for line in proc.stdout.splitlines():
        if line.startswith(_MARK):
            return json.loads(line[len(_MARK):])
    raise RuntimeError(
        f'memory measurement of {spec.get("variant")} failed (exit '
        f'{proc.returncode}):\n{(proc.stdout + proc.stderr)[-3000:]}')


if __name__ == '__main__':
    print(_MARK + json.dumps(measure(json.loads(sys.argv[1]))), flush=True)
