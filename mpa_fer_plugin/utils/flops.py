"""FLOPs of a model config at its real input size (mmengine's analyzer).

mmpretrain's ``tools/analysis_tools/get_flops.py`` assumes 224 px unless
``--shape`` is given and counts no attention: open_clip runs
``aten::scaled_dot_product_attention`` (or, frozen and without grad, the
fused ``aten::_native_multi_head_attention``), for which mmengine's
``FlopAnalyzer`` has no handle. :func:`config_flops` builds the model of a
config, reads the input size from the CLIP image tower
(``backbone.visual.image_size``: 64 px for the demo, 224 for the paper
configs), adds handles for both attention ops and counts one
``predict`` forward of one image, i.e. the prompted image tower plus CGLA
scoring. The class text features are computed once before counting (they
are cached in eval mode and shared by every image); their cost is given
separately as ``text_flops``. FLOPs follow fvcore's convention (one
multiply-add = one FLOP).
"""
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.analysis import ActivationAnalyzer, FlopAnalyzer, parameter_count
from mmengine.analysis.jit_handles import get_shape


def sdpa_flop_jit(inputs: List[Any], outputs: List[Any]) -> int:
    """FLOPs of ``aten::scaled_dot_product_attention``.

    ``q [.., L, E] @ k^T [.., E, S]`` and ``attn [.., L, S] @ v [.., S, Ev]``:
    ``prod(batch dims) * L * S * (E + Ev)`` multiply-adds (the softmax and
    scaling are not counted, as for other element-wise ops).

    Args:
        inputs (list): The op's inputs (query, key, value, ...).
        outputs (list): The op's outputs (unused).

    Returns:
        int: The FLOP count.
    """
    q, k, v = (get_shape(x) for x in inputs[:3])
    batch = 1
    for d in q[:-2]:
        batch *= d
    return batch * q[-2] * k[-2] * (q[-1] + v[-1])


def native_mha_flop_jit(inputs: List[Any], outputs: List[Any]) -> int:
    """FLOPs of ``aten::_native_multi_head_attention``.

    ``nn.MultiheadAttention``'s inference fast path (frozen weights, no
    grad) fuses the input projection, attention and output projection:
    ``B * (L * E * 3E + 2 * L * S * E + L * E * E)`` for self-attention
    (query ``[B, L, E]``, key ``[B, S, E]``).

    Args:
        inputs (list): The op's inputs (query, key, value, embed_dim, ...).
        outputs (list): The op's outputs (unused).

    Returns:
        int: The FLOP count.
    """
    q, k = get_shape(inputs[0]), get_shape(inputs[1])
    batch, length, embed = q[0], q[1], q[2]
    source = k[1]
    return batch * (length * embed * 3 * embed + 2 * length * source * embed
                    + length * embed * embed)


class _PredictLogits(nn.Module):
    """``model(x, mode='tensor')`` as a plain ``forward`` for tracing."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the class logits."""
        return self.model(x, mode='tensor')


class _TextTower(nn.Module):
    """The head's text features (soft prompts through the text tower)."""

    def __init__(self, head: nn.Module) -> None:
        super().__init__()
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the text features (``x`` only feeds the tracer)."""
        return self.head._encode_prompts()[0] + 0 * x.sum()


def _flop_analyzer(module: nn.Module, inputs: Tuple) -> FlopAnalyzer:
    analyzer = FlopAnalyzer(module, inputs)
    analyzer.set_op_handle('aten::scaled_dot_product_attention',
                           sdpa_flop_jit)
    analyzer.set_op_handle('aten::_native_multi_head_attention',
                           native_mha_flop_jit)
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    analyzer.tracer_warnings('none')
    return analyzer


def input_size_of(model: nn.Module) -> Tuple[int, int]:
    """The input size ``(H, W)`` of a model's CLIP image tower."""
    size = getattr(getattr(model.backbone, 'visual', None), 'image_size',
                   None)
    if size is None:
        raise ValueError(f'{type(model.backbone).__name__} has no '
                         '`visual.image_size`; pass the input shape')
    if isinstance(size, int):
        return size, size
    return int(size[0]), int(size[1])


def model_flops(model: nn.Module,
                shape: Optional[Sequence[int]] = None) -> Dict[str, Any]:
    """Count the FLOPs of one image through a built MPA-FER model.

    Args:
        model (nn.Module): An :class:`MPAFERClassifier` (or a model with
            ``backbone.visual.image_size`` and ``forward(x, mode='tensor')``).
        shape (Sequence[int], optional): ``(H, W)``; default: the image
            tower's input size.

    Returns:
        dict: ``input_shape`` ``(3, H, W)``, ``flops`` (per image, text
        features cached), ``text_flops`` (encoding the class prompts once;
        None if the head encodes no prompts), ``activations``,
        ``params`` (all, frozen included), ``trainable_params`` and
        ``unsupported_ops`` (op name -> count, not in ``flops``).
    """
    if shape is None:
        shape = input_size_of(model)
    if len(shape) != 2 or min(shape) < 1:
        raise ValueError(f'shape {tuple(shape)} must be (H, W) with '
                         'positive sizes')
    was_training = model.training
    model.eval()
    x = torch.zeros(1, 3, int(shape[0]), int(shape[1]),
                    device=next(model.parameters()).device)
    try:
        with torch.no_grad():
            model(x, mode='tensor')  # fills the text-feature cache
            wrapped = _PredictLogits(model)
            flops = _flop_analyzer(wrapped, (x, ))
            total = flops.total()
            unsupported = dict(flops.unsupported_ops())
            activations = ActivationAnalyzer(wrapped, (x, ))
            activations.unsupported_ops_warnings(False)
            activations.uncalled_modules_warnings(False)
            activations.tracer_warnings('none')
            n_act = activations.total()
            text_flops = None
            head = getattr(model, 'head', None)
            if hasattr(head, '_encode_prompts'):
                text_flops = _flop_analyzer(_TextTower(head),
                                            (x, )).total()
    finally:
        model.train(was_training)
    return dict(
        input_shape=(3, int(shape[0]), int(shape[1])),
        flops=total,
        text_flops=text_flops,
        activations=n_act,
        params=parameter_count(model)[''],
        trainable_params=sum(p.numel() for p in model.parameters()
                             if p.requires_grad),
        unsupported_ops=unsupported)


def random_clip_weights(model_cfg) -> None:
    """Build the config's CLIP architecture with random weights (in place).

    FLOPs do not depend on the weights, so paper configs can be counted
    without their (large) weight files.

    Args:
        model_cfg (dict): The ``model`` dict of a config.
    """
    for owner in (model_cfg, model_cfg.get('backbone'),
                  model_cfg.get('head')):
        if isinstance(owner, dict) and isinstance(owner.get('clip'), dict):
            owner['clip']['pretrained'] = None


def config_flops(config: str,
                 shape: Optional[Sequence[int]] = None,
                 random_weights: bool = False,
                 cfg_options: Optional[dict] = None) -> Dict[str, Any]:
    """Build a config's model and count its FLOPs (see :func:`model_flops`).

    Args:
        config (str): The config file.
        shape (Sequence[int], optional): ``(H, W)``; default: the model's
            input size.
        random_weights (bool): Build the CLIP with random weights
            (:func:`random_clip_weights`). Defaults to False.
        cfg_options (dict, optional): Config overrides.

    Returns:
        dict: :func:`model_flops`'s result.
    """
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS

    import mpa_fer_plugin  # noqa: F401  (registers the plugin)
    from mpa_fer_plugin.models.utils import clear_clip_cache
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if 'model' not in cfg:
        raise ValueError(f'{config} has no `model` dict')
    if random_weights:
        random_clip_weights(cfg.model)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    model = MODELS.build(cfg.model)
    clear_clip_cache()
    return model_flops(model, shape)
