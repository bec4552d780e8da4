"""Benchmark of MPA-FER's cost: time, measured memory, execution modes.

``tools/analysis_tools/benchmark.py`` is the command line; the modules:
:mod:`.timing` (interleaved timing, paired ratios), :mod:`.models`
(random-weight models, Runner training steps), :mod:`.memory` (peak RSS
per variant in its own process), :mod:`.deploy` (ONNX Runtime, compile,
graph breaks), :mod:`.demo_world` (bf16 and int8 accuracy on the demo
world), :mod:`.pipeline` (data throughput), :mod:`.run` and
:mod:`.report`.
"""
