"""The one place where CLIP models and tokenizers are built and weights loaded.

Every component that needs CLIP (the prompted image tower, the prompt
head, prototype tools, benchmarks) goes through :func:`load_clip` with the same
``clip`` spec dict::

    clip = dict(
        model_name='ViT-B-16',             # any open_clip model name
        pretrained='/data/ViT-B-16.pt',    # local file, or an open_clip tag
        model_cfg=None,                    # or an open_clip model-config dict
        quick_gelu=True)                   # activation; see below

Accepted weight sources:

* a local file: ``.pt`` / ``.pth`` / ``.bin`` / ``.safetensors`` holding an
  open_clip state dict (optionally under ``'state_dict'``), or an OpenAI
  TorchScript (JIT) archive such as ``ViT-B-16.pt`` from the OpenAI release;
* ``model_name='local-dir:/path'`` with ``open_clip_config.json`` and the
  weights in that folder;
* an open_clip pretrained tag (e.g. ``'openai'``) when the machine is online.
  Offline (no network, or ``HF_HUB_OFFLINE=1``) a tag fails at once with a
  message that says how to pass a local file instead.

Activation (``quick_gelu``). OpenAI's CLIP weights were trained with
QuickGELU, LAION/DataComp and most open_clip-trained weights with GELU, and
a plain state dict carries no trace of which (the parameters are the same).
So the activation is never guessed:

* OpenAI TorchScript archives: read from the archive (its modules are named
  ``QuickGELU`` or ``GELU``); an explicit ``quick_gelu`` that contradicts
  it is an error;
* open_clip pretrained tags: taken from the tag's pretrained config;
* model names ending in ``-quickgelu``, ``model_cfg`` dicts (their
  ``quick_gelu`` key, open_clip's default False) and ``local-dir:`` folders
  state it themselves; ``quick_gelu`` overrides a ``model_cfg``;
* a plain state dict for a model name that open_clip has with both
  activations (``'ViT-B-16'`` and ``'ViT-B-16-quickgelu'``, ...) needs an
  explicit ``quick_gelu`` (True for OpenAI weights, False for LAION), or
  loading fails with that advice.

Before a state dict is loaded its shapes are compared with the model's; a
file for another architecture fails with both architectures named.

Loaded models are cached per spec (see :func:`load_clip`) so that the image
and text towers of one model come from the same instance.
"""
import copy
import json
import os
import os.path as osp
import socket
import threading
import zipfile
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import torch
from mmengine.logging import print_log

from .clip_weights import (  # noqa: F401  (CLIP_ENV_VARS: public)
    CLIP_ENV_VARS,
    check_shapes,
    jit_quick_gelu,
    load_state_dict_file,
    missing_weights_message,
)

#: Keys accepted in a ``clip`` spec dict.
CLIP_SPEC_KEYS = ('model_name', 'pretrained', 'model_cfg', 'quick_gelu')

_CACHE: Dict[str, Any] = {}


def _open_clip():
    import open_clip
    return open_clip


def normalize_clip_spec(spec: Optional[Dict[str, Any]] = None,
                        **kwargs) -> Dict[str, Any]:
    """Validate a ``clip`` spec dict and fill in defaults.

    Args:
        spec (dict, optional): The spec; see the module docstring.
        **kwargs: Overrides merged into ``spec``.

    Returns:
        dict: A new dict with exactly the keys of :data:`CLIP_SPEC_KEYS`.
    """
    spec = dict(spec or {}, **kwargs)
    unknown = set(spec) - set(CLIP_SPEC_KEYS)
    if unknown:
        raise ValueError(f'unknown keys {sorted(unknown)} in clip spec; '
                         f'allowed: {CLIP_SPEC_KEYS}')
    out = {k: spec.get(k) for k in CLIP_SPEC_KEYS}
    if out['model_name'] is None and out['model_cfg'] is None:
        raise ValueError('clip spec needs `model_name` (an open_clip model '
                         'name or local-dir:PATH) or `model_cfg` (a dict)')
    if out['model_cfg'] is not None and not isinstance(out['model_cfg'],
                                                       dict):
        raise TypeError('clip spec `model_cfg` must be a dict, got '
                        f'{type(out["model_cfg"]).__name__}')
    if out['pretrained'] is not None and not isinstance(
            out['pretrained'], str):
        raise TypeError('clip spec `pretrained` must be a str (file path or '
                        f'tag), got {type(out["pretrained"]).__name__}')
    return out


def _spec_key(spec: Dict[str, Any]) -> str:
    return json.dumps(spec, sort_keys=True, default=str)


def _is_torchscript_archive(path: str) -> bool:
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as zf:
        return any(n.split('/', 2)[1:2] == ['code'] or n.endswith(
            'constants.pkl') for n in zf.namelist())


def _hub_reachable(timeout: float = 0.5) -> bool:
    """Whether huggingface.co accepts a TCP connection within ``timeout``."""
    if os.environ.get('HF_HUB_OFFLINE', '').lower() in ('1', 'true', 'yes'):
        return False
    result = []

    def probe():
        try:
            with socket.create_connection(('huggingface.co', 443),
                                          timeout=timeout):
                result.append(True)
        except OSError:
            pass

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout + 0.1)
    return bool(result)


def _looks_like_path(value: str) -> bool:
    return (os.sep in value or '/' in value or value.startswith('~')
            or osp.splitext(value)[1] in ('.pt', '.pth', '.bin',
                                          '.safetensors', '.npz'))


def _build_arch(spec: Dict[str, Any], quick_gelu: Optional[bool]):
    open_clip = _open_clip()
    if spec['model_cfg'] is not None:
        cfg = copy.deepcopy(spec['model_cfg'])
        if quick_gelu is not None:
            cfg['quick_gelu'] = bool(quick_gelu)
        cfg.pop('custom_text', None)
        model = open_clip.model.CLIP(**cfg)
        return model
    return open_clip.create_model(
        spec['model_name'], pretrained=None,
        force_quick_gelu=bool(quick_gelu))


def has_both_activations(name: Optional[str]) -> bool:
    """Whether open_clip has ``name`` with GELU and with QuickGELU."""
    if not name or name.endswith('-quickgelu'):
        return False
    return f'{name}-quickgelu' in _open_clip().list_models()


def _load_weights_file(model: torch.nn.Module, path: str,
                       jit_model=None, arch: str = 'the model') -> None:
    """Load a local weights file into an open_clip model (strict)."""
    open_clip = _open_clip()
    if jit_model is not None or _is_torchscript_archive(path):
        if jit_model is None:
            jit_model = torch.jit.load(path, map_location='cpu')
        state_dict = jit_model.state_dict()
        for key in ('input_resolution', 'context_length', 'vocab_size'):
            state_dict.pop(key, None)
        # TorchScript also saves non-persistent buffers (e.g. attn_mask).
        persistent = set(model.state_dict())
        for key, _ in model.named_buffers():
            if key not in persistent:
                state_dict.pop(key, None)
        from open_clip.factory import convert_state_dict, resize_pos_embed
        state_dict = convert_state_dict(model, state_dict)
        check_shapes(model, state_dict, path, arch)
        resize_pos_embed(state_dict, model)
        model.load_state_dict(state_dict, strict=True)
    elif osp.splitext(path)[1] in ('.npz', '.npy'):
        open_clip.load_checkpoint(model, path, strict=True)
    else:
        load_state_dict_file(model, path, arch)


def _create(spec: Dict[str, Any]) -> torch.nn.Module:
    open_clip = _open_clip()
    name, pretrained = spec['model_name'], spec['pretrained']
    quick_gelu = spec['quick_gelu']
    if quick_gelu is not None and not isinstance(quick_gelu, bool):
        raise TypeError(f'clip.quick_gelu={quick_gelu!r} must be True, '
                        'False or None')
    if quick_gelu is False and name and name.endswith('-quickgelu'):
        raise ValueError(f'clip.quick_gelu=False contradicts model_name='
                         f'{name!r}; drop the "-quickgelu" suffix for GELU')

    if name is not None and name.startswith('local-dir:'):
        if spec['model_cfg'] is not None or pretrained:
            raise ValueError('with model_name="local-dir:..." the folder '
                             'provides config and weights; do not also set '
                             '`model_cfg` or `pretrained`')
        folder = name[len('local-dir:'):]
        if not osp.isdir(folder):
            raise FileNotFoundError(
                f'CLIP folder {folder!r} (from {name!r}) does not exist')
        from open_clip.factory import _find_checkpoint_in_dir
        if _find_checkpoint_in_dir(Path(folder)) is None:
            # open_clip would only log a warning and return random weights.
            raise FileNotFoundError(
                f'CLIP folder {folder!r} has no weights file '
                '(*.safetensors, *.bin or *.pth)')
        return open_clip.create_model(
            name, force_quick_gelu=bool(quick_gelu))

    if spec['model_cfg'] is None and name not in open_clip.list_models():
        raise ValueError(
            f'unknown open_clip model {name!r}; use one of '
            'open_clip.list_models() (e.g. "ViT-B-16", "ViT-L-14"), '
            '"local-dir:PATH", or pass `model_cfg`')

    if pretrained is None:
        model = _build_arch(spec, quick_gelu)
        print_log(f'CLIP {name or "model_cfg"}: random weights (no '
                  '`pretrained` given)', logger='current')
        return model

    path = osp.expanduser(pretrained)
    if osp.isfile(path):
        arch = repr(name) if name else 'model_cfg'
        jit_model = None
        if _is_torchscript_archive(path):
            jit_model = torch.jit.load(path, map_location='cpu')
            found = jit_quick_gelu(jit_model)
            if found is None:
                # OpenAI's released JIT weights were trained with QuickGELU.
                found = True if quick_gelu is None else quick_gelu
            if quick_gelu is not None and quick_gelu != found:
                raise ValueError(
                    f'clip.quick_gelu={quick_gelu} contradicts the '
                    f'TorchScript archive {path!r}, whose activation is '
                    f'{"QuickGELU" if found else "GELU"}; drop '
                    'clip.quick_gelu (it is read from the archive)')
            quick_gelu = found
        elif quick_gelu is None and spec['model_cfg'] is None and \
                has_both_activations(name):
            raise ValueError(
                f'clip.model_name={name!r} exists with GELU and with '
                f'QuickGELU ({name!r} / {name + "-quickgelu"!r}), and a '
                f'plain state dict ({path!r}) does not say which it was '
                'trained with; a wrong guess loads silently and changes the '
                'features. Set clip.quick_gelu=True for OpenAI weights '
                "(e.g. converted from OpenAI's ViT-B-16.pt or the open_clip "
                "tag 'openai'), clip.quick_gelu=False for LAION/DataComp "
                'and most open_clip-trained weights.')
        model = _build_arch(spec, quick_gelu)
        try:
            _load_weights_file(model, path, jit_model, arch)
        except ValueError:
            raise
        except Exception as err:
            raise RuntimeError(
                f'could not load CLIP weights from {path!r} into '
                f'{name or "model_cfg"}: {err}') from err
        quick = _open_clip().transformer.QuickGELU
        gelu = 'QuickGELU' if any(
            isinstance(m, quick) for m in model.modules()) else 'GELU'
        print_log(f'CLIP {name or "model_cfg"}: weights from {path} '
                  f'({gelu})', logger='current')
        return model

    if _looks_like_path(pretrained):
        raise FileNotFoundError(missing_weights_message(name, pretrained))
    if spec['model_cfg'] is not None:
        raise ValueError('a pretrained tag needs an open_clip `model_name`; '
                         'with `model_cfg`, pass a local weights file')

    tags = open_clip.list_pretrained_tags_by_model(name)
    if pretrained not in tags:
        raise ValueError(
            f'{pretrained!r} is neither a file nor a known pretrained tag of '
            f'{name!r} (tags: {tags}). Pass a local file path in '
            '`clip.pretrained`.')
    if not _hub_reachable():
        raise RuntimeError(
            f'CLIP weights tag {pretrained!r} of {name!r} needs a download, '
            'but this machine is offline (or HF_HUB_OFFLINE=1). Download the '
            'weights elsewhere and pass the local file instead, e.g. '
            f"clip=dict(model_name='{name}', pretrained='/path/to/weights.pt'"
            ') (an open_clip state dict, .safetensors or an OpenAI JIT .pt), '
            "or model_name='local-dir:/path/to/folder' (docs/zero_shot.md, "
            '"Getting the weights").')
    if quick_gelu is None:
        quick_gelu = bool(open_clip.get_pretrained_cfg(name, pretrained).get(
            'quick_gelu', False))
    return open_clip.create_model(
        name, pretrained=pretrained, force_quick_gelu=bool(quick_gelu))


def load_clip(spec: Optional[Dict[str, Any]] = None,
              use_cache: bool = True,
              **kwargs) -> torch.nn.Module:
    """Build an open_clip CLIP model (eval mode, CPU, fp32) from a spec.

    Args:
        spec (dict, optional): ``model_name``, ``pretrained``, ``model_cfg``,
            ``quick_gelu``; see the module docstring.
        use_cache (bool): Return the cached instance for an identical spec,
            so that components built from the same spec share one model.
            Call :func:`clear_clip_cache` once they are built. Defaults to
            ``True``.
        **kwargs: Overrides of ``spec`` keys.

    Returns:
        torch.nn.Module: The CLIP model (``open_clip.model.CLIP``).
    """
    spec = normalize_clip_spec(spec, **kwargs)
    key = _spec_key(spec)
    if use_cache and key in _CACHE:
        return _CACHE[key]
    model = _create(spec).eval()
    if use_cache:
        _CACHE[key] = model
    return model


def clear_clip_cache() -> None:
    """Forget cached CLIP instances (modules holding parts keep them)."""
    _CACHE.clear()


def get_tokenizer(spec: Optional[Dict[str, Any]] = None,
                  context_length: Optional[int] = None,
                  **kwargs):
    """Return open_clip's bundled (offline) tokenizer for a spec.

    Args:
        spec (dict, optional): A ``clip`` spec; only the model name is used.
        context_length (int, optional): Override the context length.
        **kwargs: Overrides of ``spec`` keys.

    Returns:
        The open_clip tokenizer (a ``SimpleTokenizer`` for CLIP models).
    """
    spec = normalize_clip_spec(spec, **kwargs)
    open_clip = _open_clip()
    name = spec['model_name']
    if spec['model_cfg'] is not None or name is None or name.startswith(
            ('local-dir:', 'hf-hub:')):
        cfg = spec['model_cfg'] or {}
        ctx = context_length or cfg.get('text_cfg', {}).get(
            'context_length', 77)
        return open_clip.SimpleTokenizer(context_length=ctx)
    kwargs = {'context_length': context_length} if context_length else {}
    return open_clip.get_tokenizer(name, **kwargs)


def clip_dims(model: torch.nn.Module) -> Tuple[int, int, int]:
    """Return ``(embed_dim, vision_width, text_width)`` read from the weights.

    Args:
        model (torch.nn.Module): An open_clip CLIP model.

    Returns:
        tuple[int, int, int]: Joint embedding, image-token and text-token
        widths.
    """
    visual = model.visual
    if getattr(visual, 'proj', None) is not None:
        embed_dim = visual.proj.shape[1]
    else:
        embed_dim = visual.output_dim
    vision_width = visual.conv1.out_channels
    text_width = model.token_embedding.embedding_dim
    return embed_dim, vision_width, text_width
