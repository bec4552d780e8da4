"""ONNX export of MPA-FER: prompted ViT + CGLA with baked-in text features.

At inference the encoded soft prompts ``theta(t_c)`` are constants
(docs/method.md), so the exported graph holds only the prompted image tower,
the cosine similarities and the per-class top-k (Eqs. 8-10); the text
tower is not exported. ``onnx`` and ``onnxruntime`` are imported only by
the functions that need them (``pip install 'mpa_fer_plugin[export]'``).

Inputs and outputs of the graph:

* input ``image``: float32 ``[B, 3, H, W]``. With ``input_format='rgb255'``
  (default) it is an **RGB** image in ``0..255`` at the model's input size
  (after resize/crop), normalised inside the graph with the config's
  mean/std; with ``'normalized'`` it is already ``(x - mean) / std``, the
  tensor the PyTorch backbone takes.
* outputs ``logits`` ``[B, C]`` (``logit_scale * S(x, c)``, equal to
  ``model(x, mode='tensor')``) and ``scores`` ``[B, C]`` (the softmax of
  ``logits / T`` with the head's calibration temperature ``T``, equal to
  ``pred_score``). The batch axis is dynamic.

:func:`quantize_onnx` writes an int8 version with onnxruntime's dynamic
quantisation (int8 weights of the MatMul/Gemm layers, activations
quantised per call), smaller and usually faster on CPU; its accuracy on
the demo world is measured by ``tools/analysis_tools/benchmark.py``.
"""
import os.path as osp
from typing import Dict, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn
from mmengine.logging import print_log

from ..models.heads.cgla_scores import cgla_scores

#: Accepted values of ``input_format``.
INPUT_FORMATS = ('rgb255', 'normalized')
#: ONNX opset used by default (legacy TorchScript exporter).
DEFAULT_OPSET = 17


class MPAFERExportModule(nn.Module):
    """A traceable MPA-FER: prompted ViT + CGLA, text features as constants.

    Args:
        model (nn.Module): An :class:`MPAFERClassifier` (eval mode).
        input_format (str): ``'rgb255'`` (normalisation inside the graph)
            or ``'normalized'``. Defaults to ``'rgb255'``.
        text_feats (Tensor, optional): Class text features ``[C, D]``;
            None uses ``model.head.text_features()``. Defaults to None.
    """

    def __init__(self,
                 model: nn.Module,
                 input_format: str = 'rgb255',
                 text_feats: Optional[torch.Tensor] = None) -> None:
        super().__init__()
        if input_format not in INPUT_FORMATS:
            raise ValueError(f'input_format={input_format!r} must be one of '
                             f'{INPUT_FORMATS}')
        model.eval()
        head = model.head
        self.backbone = model.backbone
        self.input_format = input_format
        self.topk = head.topk_patches
        self.local_weight = head.local_weight
        self.logit_scale = head.logit_scale
        # calibration temperature of the checkpoint (scores only)
        self.temperature = float(getattr(head, 'temperature', 1.0))
        if text_feats is None:
            with torch.no_grad():
                text_feats = head.text_features()
        self.register_buffer('text_feats', text_feats.detach().float()
                             .clone())
        pre = model.data_preprocessor
        mean = getattr(pre, 'mean', None)
        std = getattr(pre, 'std', None)
        if input_format == 'rgb255' and (mean is None or std is None):
            raise ValueError('input_format="rgb255" needs the mean/std of '
                             "the model's data_preprocessor, which has none")
        if mean is not None:
            self.register_buffer('mean', mean.detach().float().clone())
            self.register_buffer('std', std.detach().float().clone())

    def forward(self, image: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Return ``(logits, scores)`` for a batch of images."""
        x = image
        if self.input_format == 'rgb255':
            x = (x - self.mean) / self.std
        feats = self.backbone(x)
        patches = feats[1] if len(feats) > 1 else None
        logits = self.logit_scale * cgla_scores(
            feats[0], self.text_feats, patches, self.topk, self.local_weight)
        return logits, (logits / self.temperature).softmax(dim=-1)


def _input_size(model: nn.Module) -> Tuple[int, int]:
    size = model.backbone.visual.image_size
    return tuple(size) if isinstance(size, (tuple, list)) else (size, size)


def export_onnx(model: nn.Module,
                out_file: str,
                input_format: str = 'rgb255',
                opset: int = DEFAULT_OPSET,
                batch_size: int = 1) -> str:
    """Export a model to ONNX with torch's TorchScript-based exporter.

    ``torch.onnx.export(..., dynamo=False)`` needs only ``onnx`` (the
    dynamo exporter would also need ``onnxscript``); top-k is exported as
    ONNX ``TopK``.

    Args:
        model (nn.Module): An :class:`MPAFERClassifier` with its
            checkpoint loaded.
        out_file (str): The ``.onnx`` file to write.
        input_format (str): ``'rgb255'`` or ``'normalized'`` (see the
            module docstring). Defaults to ``'rgb255'``.
        opset (int): ONNX opset version. Defaults to 17.
        batch_size (int): Batch size of the example input (the batch axis
            is dynamic). Defaults to 1.

    Returns:
        str: ``out_file``.
    """
    import warnings
    try:
        import onnx
    except ImportError as e:
        raise ImportError("ONNX export needs the `onnx` package: pip "
                          "install 'mpa_fer_plugin[export]'") from e
    module = MPAFERExportModule(model, input_format).eval()
    h, w = _input_size(model)
    example = torch.rand(batch_size, 3, h, w) * 255
    if input_format == 'normalized':
        example = torch.randn(batch_size, 3, h, w)
    example = example.to(module.text_feats.device)
    out_dir = osp.dirname(osp.abspath(out_file))
    if not osp.isdir(out_dir):
        raise FileNotFoundError(f'output folder not found: {out_dir}')
    # nn.MultiheadAttention's inference fast path (taken with an even
    # number of heads, e.g. ViT-B/16's 12) traces to a fused op that has
    # no ONNX export; the regular path gives the same result.
    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with warnings.catch_warnings(), torch.no_grad():
            # The legacy exporter is deprecated in favour of dynamo, and
            # tracing warns about Python-side shape checks; both are
            # expected.
            warnings.simplefilter('ignore')
            torch.onnx.export(
                module, (example, ), out_file, dynamo=False,
                opset_version=opset, input_names=['image'],
                output_names=['logits', 'scores'],
                dynamic_axes={'image': {0: 'batch'},
                              'logits': {0: 'batch'},
                              'scores': {0: 'batch'}})
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)
    onnx.checker.check_model(onnx.load(out_file))
    print_log(f'exported {type(model).__name__} to {out_file} (opset '
              f'{opset}, input {input_format} [B, 3, {h}, {w}])',
              logger='current')
    return out_file


def quantize_onnx(onnx_file: str,
                  out_file: str,
                  per_channel: bool = False) -> str:
    """Write an int8 dynamically quantised copy of an exported model.

    Uses ``onnxruntime.quantization.quantize_dynamic`` with int8 weights
    (``QuantType.QInt8``): the weights of the MatMul/Gemm layers (the
    attention and MLP projections of every block, ``proj``) are stored as
    int8 with a scale, activations are quantised on the fly, so no
    calibration data is needed. LayerNorm, softmax, the patch embedding
    convolution and CGLA's top-k stay float32.

    Args:
        onnx_file (str): The float32 ``.onnx`` file (from
            :func:`export_onnx`).
        out_file (str): The int8 ``.onnx`` file to write.
        per_channel (bool): One scale per output channel instead of per
            tensor. Defaults to False.

    Returns:
        str: ``out_file``.
    """
    try:
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as e:
        raise ImportError("int8 quantisation needs `onnx` and "
                          "`onnxruntime`: pip install "
                          "'mpa_fer_plugin[export]'") from e
    if not osp.isfile(onnx_file):
        raise FileNotFoundError(f'ONNX file not found: {onnx_file}')
    if osp.abspath(onnx_file) == osp.abspath(out_file):
        raise ValueError(f'the int8 file would overwrite {onnx_file}')
    quantize_dynamic(_constants_to_initializers(onnx.load(onnx_file)),
                     out_file, weight_type=QuantType.QInt8,
                     per_channel=per_channel)
    onnx.checker.check_model(onnx.load(out_file))
    print_log(f'wrote int8 (dynamic) {out_file}: '
              f'{osp.getsize(out_file) / 2**20:.1f} MiB (float32 '
              f'{osp.getsize(onnx_file) / 2**20:.1f} MiB)', logger='current')
    return out_file


def _constants_to_initializers(model):
    """Move the weight tensors of ``Constant`` nodes into initializers.

    The TorchScript exporter stores the folded weights of the frozen
    tower as ``Constant`` nodes; onnxruntime's quantiser only quantises a
    MatMul whose weight is an initializer. Tensors of 2 or more dimensions
    are moved (scalars and shape vectors stay nodes); the graph computes
    the same values.
    """
    from onnx import numpy_helper
    graph = model.graph
    keep = []
    for node in graph.node:
        if node.op_type == 'Constant' and len(node.attribute) == 1 and \
                node.attribute[0].name == 'value':
            value = numpy_helper.to_array(node.attribute[0].t)
            if value.ndim >= 2:
                graph.initializer.append(
                    numpy_helper.from_array(value, node.output[0]))
                continue
        keep.append(node)
    del graph.node[:]
    graph.node.extend(keep)
    return model


def ort_session(onnx_file: str, threads: Optional[int] = None):
    """An onnxruntime CPU session, optionally with a fixed thread count.

    Args:
        onnx_file (str): The ``.onnx`` file.
        threads (int, optional): Intra-op threads (``None``: onnxruntime's
            default). Defaults to None.

    Returns:
        onnxruntime.InferenceSession: The session.
    """
    try:
        import onnxruntime as ort
    except ImportError as e:
        raise ImportError("running the export needs `onnxruntime`: pip "
                          "install 'mpa_fer_plugin[export]'") from e
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    return ort.InferenceSession(onnx_file, options,
                                providers=['CPUExecutionProvider'])


def check_onnx_parity(model: nn.Module,
                      onnx_file: str,
                      input_format: str = 'rgb255',
                      batch_size: int = 3,
                      seed: int = 0) -> Dict[str, float]:
    """Run the ONNX file with onnxruntime and compare it to PyTorch.

    Args:
        model (nn.Module): The exported model.
        onnx_file (str): The ``.onnx`` file.
        input_format (str): The format it was exported with. Defaults to
            ``'rgb255'``.
        batch_size (int): Random images to compare on. Defaults to 3.
        seed (int): Seed of the random images. Defaults to 0.

    Returns:
        dict[str, float]: ``max_abs_diff_logits``,
        ``max_abs_diff_scores`` and ``top1_agreement`` (fraction of the
        images with the same predicted class).
    """
    h, w = _input_size(model)
    gen = torch.Generator().manual_seed(seed)
    rgb = torch.rand(batch_size, 3, h, w, generator=gen) * 255
    pre = model.data_preprocessor
    device = next(model.parameters()).device
    normed = (rgb.to(device) - pre.mean) / pre.std
    feed = rgb if input_format == 'rgb255' else normed.cpu()
    session = ort_session(onnx_file)
    logits_ort, scores_ort = session.run(None,
                                         {'image': feed.numpy()})
    with torch.no_grad():
        logits = model(normed, mode='tensor').float().cpu().numpy()
    return dict(
        max_abs_diff_logits=float(np.abs(logits_ort - logits).max()),
        max_abs_diff_scores=float(
            np.abs(scores_ort - _softmax(
                logits / float(getattr(model.head, 'temperature', 1.0))))
            .max()),
        top1_agreement=float(
            (logits_ort.argmax(-1) == logits.argmax(-1)).mean()))


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
