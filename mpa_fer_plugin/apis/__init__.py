"""Inference helpers: model loading, inferencer, open vocabulary, export.

Nothing here imports ``onnx``, ``onnxruntime`` or ``grad-cam``; the export
functions import them when called.
"""
from .export import (
    DEFAULT_OPSET,
    INPUT_FORMATS,
    MPAFERExportModule,
    check_onnx_parity,
    export_onnx,
    ort_session,
    quantize_onnx,
)
from .inference import (
    IMG_EXTENSIONS,
    build_test_pipeline,
    check_checkpoint,
    init_mpa_model,
    list_images,
    load_image,
    load_mpa_checkpoint,
    prepare_images,
)
from .inferencer import MPAFERInferencer
from .open_vocab import encode_classnames, score_classnames

__all__ = [
    'IMG_EXTENSIONS', 'list_images', 'load_image', 'check_checkpoint',
    'load_mpa_checkpoint', 'init_mpa_model', 'build_test_pipeline',
    'prepare_images', 'MPAFERInferencer', 'encode_classnames',
    'score_classnames', 'MPAFERExportModule', 'export_onnx',
    'check_onnx_parity', 'quantize_onnx', 'ort_session', 'INPUT_FORMATS',
    'DEFAULT_OPSET'
]
