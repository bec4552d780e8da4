"""Checks on CLIP weight files before they are loaded (used by clip_loader),
and the advice given when a weights file is missing.

A plain state dict does not record the activation it was trained with, and a
state dict for another architecture would otherwise fail deep inside
open_clip (e.g. ``"compute_index_ranges_weights" not implemented for
'Half'`` when a half-precision file's positional embedding is resized).
"""
import os
from typing import Dict, Optional

import torch


def jit_quick_gelu(jit_model) -> Optional[bool]:
    """QuickGELU (True), GELU (False) or unknown (None) in a JIT archive."""
    names = {getattr(m, 'original_name', '') for m in jit_model.modules()}
    if 'QuickGELU' in names:
        return True
    if 'GELU' in names:
        return False
    return None


def arch_summary(state_dict: Dict[str, torch.Tensor]) -> str:
    """Describe the CLIP architecture a state dict was saved from."""
    def shape(key):
        value = state_dict.get(key)
        return None if value is None else tuple(value.shape)

    def layers(prefix):
        idx = {k[len(prefix):].split('.', 1)[0] for k in state_dict
               if k.startswith(prefix)}
        return len(idx)

    conv = shape('visual.conv1.weight')
    pos = shape('visual.positional_embedding')
    tok = shape('token_embedding.weight')
    proj = shape('text_projection')
    parts = []
    if conv:
        grid = int(round(((pos[0] - 1) ** 0.5))) if pos else None
        img = f', image {grid * conv[-1]} px' if grid else ''
        parts.append(f'vision width {conv[0]}, patch {conv[-1]}, '
                     f'{layers("visual.transformer.resblocks.")} '
                     f'layers{img}')
    if tok:
        parts.append(f'text width {tok[1]}, '
                     f'{layers("transformer.resblocks.")} layers')
    if proj:
        parts.append(f'embed dim {proj[-1]}')
    return '; '.join(parts) or f'{len(state_dict)} tensors'


def check_shapes(model: torch.nn.Module,
                  state_dict: Dict[str, torch.Tensor], path: str,
                  arch: str) -> None:
    """Fail with both architectures named when the shapes do not fit."""
    own = model.state_dict()
    resizable = ('visual.positional_embedding', 'positional_embedding')
    bad = [(k, tuple(v.shape), tuple(own[k].shape))
           for k, v in state_dict.items()
           if k in own and k not in resizable and isinstance(
               v, torch.Tensor) and tuple(v.shape) != tuple(own[k].shape)]
    if not bad:
        return
    shown = ', '.join(f'{k}: file {a} vs model {b}' for k, a, b in bad[:3])
    more = f' (and {len(bad) - 3} more)' if len(bad) > 3 else ''
    raise ValueError(
        f'the CLIP weights in {path!r} do not fit the architecture {arch}: '
        f'{len(bad)} tensors have other shapes, e.g. {shown}{more}. The '
        f'file holds a CLIP with {arch_summary(state_dict)}; {arch} has '
        f'{arch_summary(own)}. Set clip.model_name / clip.model_cfg to the '
        'architecture the weights were saved from.')


def load_state_dict_file(model: torch.nn.Module, path: str,
                          arch: str) -> None:
    """Load an open_clip state-dict file (strict, shape-checked first).

    The steps of ``open_clip.load_checkpoint``, with a shape check before
    the positional embeddings are resized (which on a half-precision file
    for another architecture fails with an unrelated error).
    """
    from open_clip.factory import (
        convert_state_dict,
        load_state_dict,
        resize_pos_embed,
        resize_text_pos_embed,
    )
    state_dict = load_state_dict(path, device='cpu', weights_only=True)
    state_dict = convert_state_dict(model, state_dict)
    if 'logit_scale' in state_dict and \
            model.logit_scale.ndim != state_dict['logit_scale'].ndim:
        state_dict['logit_scale'] = state_dict['logit_scale'].reshape(
            model.logit_scale.shape)
    check_shapes(model, state_dict, path, arch)
    for key in ('visual.positional_embedding', 'positional_embedding'):
        if key in state_dict and state_dict[key].is_floating_point():
            state_dict[key] = state_dict[key].float()
    resize_pos_embed(state_dict, model)
    resize_text_pos_embed(state_dict, model)
    model.load_state_dict(state_dict, strict=True)


#: Environment variables that the shipped configs read the CLIP weights
#: path from (``configs/_base_/models/``), by open_clip model name.
CLIP_ENV_VARS = {'ViT-B-16': 'CLIP_B16', 'ViT-L-14': 'CLIP_L14'}


def missing_weights_message(name: Optional[str], pretrained: str) -> str:
    """What to do when ``clip.pretrained`` names a file that is not there.

    Args:
        name (str, optional): The open_clip model name of the spec.
        pretrained (str): The path that was not found.

    Returns:
        str: The message: the key and environment variable to set, and
        where the weights come from.
    """
    var = CLIP_ENV_VARS.get(name or '')
    where = ''
    if var and os.environ.get(var):
        where = (f'check the {var} environment variable (now '
                 f'{os.environ[var]!r}; the shipped configs read it), ')
    elif var:
        where = (f'set the {var} environment variable to the weights file '
                 f'(the shipped configs read it: {var}=/path/{name}.pt), ')
    return (
        f'CLIP weights file {pretrained!r} not found (clip.pretrained'
        f'{", model " + name if name else ""}). To fix it, {where}or '
        'override the key: --cfg-options model.clip.pretrained=/path/to/'
        "weights. Weights: OpenAI's TorchScript release (e.g. "
        f'{name or "ViT-B-16"}.pt; the download URLs are in _MODELS of '
        'clip/clip.py at github.com/openai/CLIP), or an open_clip state '
        "dict (open_clip.create_model(NAME, pretrained='openai') on a "
        'machine with network, then torch.save(model.state_dict(), PATH)'
        '). OpenAI weights need clip.quick_gelu=True (the shipped configs '
        'set it).')
