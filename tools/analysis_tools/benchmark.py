"""Measure the compute and memory cost of MPA-FER and its execution modes.

Thin CLI over :mod:`mpa_fer_plugin.benchmark`. At the real CLIP ViT-B/16
architecture with random weights (timing and memory do not depend on the
values) it prints, ratios first:

* inference: MPA-FER ``predict`` against open_clip zero-shot, ONNX Runtime
  fp32 and int8 (dynamic quantisation) against ``predict``, and
  ``torch.compile`` against eager, at batch 1 and 8;
* one training iteration (``model.train_step``: preprocessor, loss,
  backward, SGD step): MPA-FER against IVLP, CoOp and full fine-tuning,
  and MPA-FER with activation checkpointing, bf16 autocast
  (``MPAAmpOptimWrapper``) and ``torch.compile`` against plain MPA-FER;
* peak RSS (and CUDA peak) of a training process, each variant in its own
  subprocess, with and without checkpointing;
* with ``--demo-seeds``: int8 vs fp32 ONNX accuracy on the demo world
  (and with ``--demo-amp`` its fp32 vs ``--amp`` accuracy, paired by
  seed).

Checkpointing and bf16 are timed at their own batches (``--cp-batch``,
``--amp-batch``), each next to plain MPA-FER at the same batch.

Variants are timed interleaved after warm-up; ratios are medians of the
per-round ratios. Threads and load averages are recorded.

Examples::

    python tools/analysis_tools/benchmark.py --threads 2
    python tools/analysis_tools/benchmark.py --quick       # tiny, seconds
    python tools/analysis_tools/benchmark.py --threads 2 \\
        --demo-seeds 0 1 2 3 4 --out bench.json
"""
import argparse
import json
import os.path as osp
import shlex
import sys
import time
from typing import List, Optional

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from mpa_fer_plugin.benchmark.run import MEMORY_VARIANTS  # noqa: E402

#: Memory variants of ``--quick`` (two subprocesses keep the test short).
QUICK_MEMORY = ['MPA-FER', 'MPA-FER + checkpointing']


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line (``argv`` defaults to ``sys.argv[1:]``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--arch', default='ViT-B-16-quickgelu',
                        help='open_clip model name (random weights)')
    parser.add_argument('--quick', action='store_true',
                        help='tiny CLIP, small batches, 2 repeats (a smoke '
                        'run; the numbers mean nothing)')
    parser.add_argument('--device', default='auto',
                        choices=('auto', 'cpu', 'cuda'))
    parser.add_argument('--infer-batches', type=int, nargs='+',
                        default=None, help='default: 1 8')
    parser.add_argument('--train-batch', type=int, default=None,
                        help='timed training batch (default: 8 on CPU, '
                        '32 on GPU)')
    parser.add_argument('--cp-batch', type=int, default=None,
                        help='batch at which checkpointing is timed '
                        'against MPA-FER (default: the memory batch; 0 '
                        'skips)')
    parser.add_argument('--amp-batch', type=int, default=None,
                        help='batch at which bf16 autocast is timed '
                        'against MPA-FER (default: the training batch; 0 '
                        'skips)')
    parser.add_argument('--memory-batch', type=int, default=None,
                        help='batch of the peak-memory processes '
                        '(default: 32; 2 with --quick)')
    parser.add_argument('--memory-variants', nargs='*', default=None,
                        choices=list(MEMORY_VARIANTS),
                        help='variants whose peak memory is measured, each '
                        'in its own process (default: all; with --quick: '
                        'MPA-FER with and without checkpointing); give '
                        'none to skip')
    parser.add_argument('--memory-steps', type=int, default=1,
                        help='training steps per memory process (the last '
                        'one is timed too; default: 1)')
    parser.add_argument('--memory-rounds', type=int, default=1,
                        help='processes per memory variant, in alternating '
                        'order (the --low-memory step-time ratio pairs '
                        'them; default: 1)')
    parser.add_argument('--memory-only', action='store_true',
                        help='measure only the peak memory (and '
                        '--demo-seeds), no timing')
    parser.add_argument('--mmap-threshold', type=int, default=None,
                        help='also measure the memory variants with '
                        'MALLOC_MMAP_THRESHOLD_ set to this many bytes '
                        '(glibc then unmaps freed blocks above it; e.g. '
                        '131072)')
    parser.add_argument('--repeats', type=int, default=None,
                        help='timed rounds (default: 7 for inference, 3 '
                        'for training; 2 with --quick)')
    parser.add_argument('--train-repeats', type=int, default=None,
                        help='timed training rounds (overrides --repeats)')
    parser.add_argument('--warmup', type=int, default=None,
                        help='untimed rounds (default: 1; compiled '
                        'variants get one more)')
    parser.add_argument('--pipeline-images', type=int, default=None,
                        help='generated faces for the data pipeline '
                        'throughput (default: 256, 16 with --quick; 0 '
                        'skips)')
    parser.add_argument('--compare-batch-first', action='store_true',
                        help='also time MPA-FER with backbone.seq_first='
                        'False (batch-first blocks) at the training batch')
    parser.add_argument('--no-onnx', action='store_true',
                        help='skip the ONNX Runtime variants')
    parser.add_argument('--no-compile', action='store_true',
                        help='skip the torch.compile variants')
    parser.add_argument('--compile-backend', default='inductor',
                        help='torch.compile backend (default: inductor)')
    parser.add_argument('--demo-seeds', type=int, nargs='*', default=None,
                        help='also train the demo world (fp32) on these '
                        'seeds and measure int8 vs fp32 ONNX accuracy on '
                        'the first (a few minutes per run)')
    parser.add_argument('--demo-amp', action='store_true',
                        help='with --demo-seeds, also train each seed with '
                        '--amp (bf16 vs fp32 accuracy; slow on CPUs '
                        'without native bf16)')
    parser.add_argument('--demo-config', default='configs/mpa_fer_demo.py')
    parser.add_argument('--demo-work-dir', default='work_dirs/benchmark_demo')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch CPU threads (default: torch default)')
    parser.add_argument('--out', help='also write the results as JSON')
    args = parser.parse_args(argv)
    q = args.quick
    args.infer_batches = args.infer_batches or ([1, 2] if q else [1, 8])
    args.repeats_infer = args.repeats or (2 if q else 7)
    args.repeats_train = args.train_repeats or args.repeats or (
        2 if q else 3)
    args.warmup = 1 if args.warmup is None else args.warmup
    if args.pipeline_images is None:
        args.pipeline_images = 16 if q else 256
    args.memory_batch = args.memory_batch or (2 if q else 32)
    if args.memory_variants is None:
        args.memory_variants = QUICK_MEMORY if q else list(MEMORY_VARIANTS)
    return args


def main(argv: Optional[List[str]] = None) -> dict:
    """Run the benchmark, print the report and optionally save JSON."""
    from mpa_fer_plugin.benchmark.report import format_report
    from mpa_fer_plugin.benchmark.run import run
    args = parse_args(argv)
    start = time.time()
    res = run(args)
    res['command'] = 'python tools/analysis_tools/benchmark.py ' + \
        shlex.join(sys.argv[1:] if argv is None else argv)
    res['seconds'] = round(time.time() - start, 1)
    print(format_report(res))
    print(f'({res["seconds"]:.0f} s)')
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(res, f, indent=2, default=str)
    return res


if __name__ == '__main__':
    main()
