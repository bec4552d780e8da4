"""A checkpoint is whole or refused, in every path that loads one.

Two checks, each in the one place every loading path passes through:

1. **The file.** Every local or ``http(s)://`` checkpoint mmengine reads
   goes through :func:`~mpa_fer_plugin.utils.safe_checkpoint.
   safe_torch_load` (the plugin's ``CheckpointLoader`` schemes). When a
   checkpoint is saved through :func:`~mpa_fer_plugin.utils.
   safe_checkpoint.atomic_torch_save` (mmengine's ``save_checkpoint`` is
   routed there by :mod:`mpa_fer_plugin.utils.compat`), a SHA-256 of every
   tensor of its ``state_dict`` is written into
   ``meta['mpa_fer_integrity']`` (:func:`integrity_record`). At load the
   tensors are hashed again (:func:`verify_integrity`): flipped bytes
   inside a tensor, which ``torch.load`` does not detect (it does not check
   the zip CRCs), raise :class:`IntegrityError` naming the file and the
   tensors. The record covers the ``state_dict`` only, so tools that add
   ``meta`` keys (model card, calibration) and rewrite the file keep it
   valid. A checkpoint without a record (saved before the record existed,
   or by another tool) loads with a one-time note.
2. **The model.** mmengine's ``_load_checkpoint_to_model`` is the one
   function through which a loaded checkpoint enters a model: mmengine's
   ``load_checkpoint`` (mmpretrain's ``get_model`` and its inferencers,
   ``init_cfg=dict(type='Pretrained')``), ``Runner.load_checkpoint``
   (``load_from``: ``tools/test.py``, the confusion matrix tool),
   ``Runner.resume``, the ``FlexibleRunner`` strategies and mmengine's
   ``BaseInferencer``; :func:`~mpa_fer_plugin.apis.init_mpa_model`
   (``tools/infer.py``, ``FERPipeline``, export, Grad-CAM) uses it too.
   :func:`install_model_checks` wraps it so that, for a model with a
   prompt head (``head.classnames``), :func:`check_checkpoint` runs first:
   every tensor of the model's state dict present (class prototypes may be
   missing: they are recomputed), each value a tensor of the model's
   dtype kind and shape, all values finite, and the class names stored in
   ``meta['dataset_meta']['classes']`` equal to the head's, in order.
   Anything else raises ``ValueError`` naming the file and every problem,
   whatever ``strict`` says (mmengine loads with ``strict=False``, which
   would only log a missing prompt and keep the untrained one).
"""
import hashlib
import logging
import re
from collections.abc import Mapping
from typing import Any, Callable, Dict, List, Optional

import numpy as np
import torch
import torch.nn as nn

from .safe_checkpoint import CorruptCheckpointError

#: ``checkpoint['meta']`` key of the integrity record.
INTEGRITY_KEY = 'mpa_fer_integrity'

#: What each trainable key depends on, for mismatch messages.
_KEY_HINTS = (
    ('backbone.prompts', 'visual prompts: num_prompts, prompt_depth or the '
     'CLIP image width differ'),
    ('head.prompt_learner.ctx', 'text context: num_ctx, class_specific_ctx, '
     'the number of classes (CSC) or the CLIP text width differ'),
    ('head.prototypes', 'class prototypes: the number of classes or the '
     'CLIP embedding width differ'),
)

#: Keys that may be missing from a checkpoint (recomputed by the
#: prototype hook, not used at inference).
_OPTIONAL_PREFIX = 'head.prototypes'

#: Files already noted as having no integrity record (one note each).
_NOTED: set = set()

#: ``id(checkpoint) -> file`` of recent loads, for messages.
_SOURCES: Dict[int, str] = {}

_ORIG_LOAD_TO_MODEL: List[Callable] = []


class IntegrityError(CorruptCheckpointError):
    """The tensors of a checkpoint differ from its integrity record."""


def _digest(key: str, value: Any) -> str:
    """SHA-256 of one state-dict entry: name, type, dtype, shape, bytes."""
    h = hashlib.sha256(key.encode('utf-8') + b'\0')
    if isinstance(value, torch.Tensor):
        t = value.detach()
        if t.layout != torch.strided:  # pragma: no cover - sparse etc.
            t = t.to_dense()
        t = t.cpu().contiguous()
        h.update(f'tensor {t.dtype} {tuple(t.shape)}\0'.encode())
        try:
            h.update(t.reshape(-1).view(torch.uint8).numpy())
        except (RuntimeError, TypeError):  # pragma: no cover - quantized
            h.update(repr(t.tolist()).encode())
    elif isinstance(value, np.ndarray):
        h.update(f'ndarray {value.dtype} {value.shape}\0'.encode())
        h.update(np.ascontiguousarray(value).tobytes())
    else:
        h.update(f'{type(value).__name__} {value!r}'.encode('utf-8'))
    return h.hexdigest()


def integrity_record(state_dict: Mapping) -> Dict[str, Any]:
    """The record written into ``meta`` at save.

    Args:
        state_dict (Mapping): The checkpoint's ``state_dict``.

    Returns:
        dict: ``format``, ``algorithm``, ``tensors`` (key -> SHA-256 hex)
        and ``digest`` (SHA-256 of all of them).
    """
    tensors = {str(k): _digest(str(k), v) for k, v in state_dict.items()}
    joined = ''.join(f'{k}:{tensors[k]}\n' for k in sorted(tensors))
    return dict(format=1, algorithm='sha256', tensors=tensors,
                digest=hashlib.sha256(joined.encode()).hexdigest())


def with_integrity_record(obj: Any) -> Any:
    """``obj`` with a fresh record in its ``meta`` (a shallow copy).

    Anything that is not a dict with a ``state_dict`` mapping is returned
    unchanged; the caller's dicts are never modified.

    Args:
        obj (Any): What is about to be saved.

    Returns:
        Any: The object to save.
    """
    if not isinstance(obj, dict) or not isinstance(obj.get('state_dict'),
                                                   Mapping):
        return obj
    meta = obj.get('meta')
    meta = dict(meta) if isinstance(meta, Mapping) else {}
    meta[INTEGRITY_KEY] = integrity_record(obj['state_dict'])
    out = dict(obj)
    out['meta'] = meta
    return out


def _names(keys: List[str], limit: int = 5) -> str:
    shown = ', '.join(repr(k) for k in keys[:limit])
    return shown + (f' and {len(keys) - limit} more'
                    if len(keys) > limit else '')


def verify_integrity(checkpoint: Any, filename: str) -> None:
    """Compare a loaded checkpoint with the record written at its save.

    Args:
        checkpoint (Any): What ``torch.load`` returned.
        filename (str): The file, named in messages.
    """
    from mmengine.logging import print_log
    if not isinstance(checkpoint, dict):
        return
    _SOURCES[id(checkpoint)] = filename  # also for bare state dicts
    while len(_SOURCES) > 16:
        _SOURCES.pop(next(iter(_SOURCES)))
    if not isinstance(checkpoint.get('state_dict'), Mapping):
        return
    meta = checkpoint.get('meta')
    record = meta.get(INTEGRITY_KEY) if isinstance(meta, Mapping) else None
    if record is None:
        if filename not in _NOTED:
            _NOTED.add(filename)
            print_log(
                f'checkpoint {filename} has no integrity record (saved '
                'by an older mpa_fer_plugin or another tool): corrupted '
                'bytes inside its tensors cannot be detected',
                logger='current', level=logging.WARNING)
        return
    stored = record.get('tensors') if isinstance(record, Mapping) else None
    if not isinstance(stored, Mapping) or record.get(
            'algorithm') != 'sha256':
        raise IntegrityError(
            f'checkpoint {filename}: its integrity record '
            f'meta[{INTEGRITY_KEY!r}] is unreadable (the file is corrupt)')
    state = checkpoint['state_dict']
    now = {str(k): _digest(str(k), v) for k, v in state.items()}
    changed = sorted(k for k in set(now) & set(stored) if now[k] != stored[k])
    missing = sorted(set(stored) - set(now))
    extra = sorted(set(now) - set(stored))
    if changed or missing or extra:
        parts = []
        if changed:
            parts.append(f'the bytes of {_names(changed)} differ from the '
                         'record written when it was saved')
        if missing:
            parts.append(f'{_names(missing)} recorded but missing')
        if extra:
            parts.append(f'{_names(extra)} present but not recorded')
        raise IntegrityError(
            f'checkpoint {filename} is corrupt: ' + '; '.join(parts) +
            ' (changed on disk or in transfer); use another copy')


def source_of(checkpoint: Any) -> str:
    """The file a checkpoint was loaded from, if known."""
    return _SOURCES.get(id(checkpoint), 'the checkpoint')


def _hint(key: str) -> str:
    for prefix, hint in _KEY_HINTS:
        if key.startswith(prefix):
            return f' ({hint})'
    return ''


def _same_kind(value: torch.Tensor, own: torch.Tensor) -> bool:
    """Floating (or complex) values for floating tensors, else same dtype."""
    if own.is_floating_point():
        return value.is_floating_point()
    if own.is_complex():
        return value.is_complex()
    return value.dtype == own.dtype


def _tensor_problems(key: str, value: Any,
                     own: Optional[torch.Tensor]) -> List[str]:
    if not isinstance(value, torch.Tensor):
        return [f'{key!r} is a {type(value).__module__}.'
                f'{type(value).__name__} in the checkpoint, not a tensor']
    problems = []
    if own is not None and not _same_kind(value, own):
        problems.append(f'{key!r} has dtype {value.dtype} in the checkpoint '
                        f'but {own.dtype} in the model')
    if own is not None and value.shape != own.shape:
        problems.append(
            f'{key!r} has shape {tuple(value.shape)} in the checkpoint '
            f'but {tuple(own.shape)} in the model{_hint(key)}')
    if (value.is_floating_point() or value.is_complex()) and \
            value.numel() and not bool(torch.isfinite(value).all()):
        nan = int(torch.isnan(value).sum())
        inf = int(torch.isinf(value).sum())
        problems.append(f'{key!r} holds {nan} NaN and {inf} infinite '
                        'values (a diverged or corrupted run)')
    return problems


def check_checkpoint(model: nn.Module,
                     checkpoint: Dict[str, Any],
                     filename: str = 'the checkpoint') -> Dict[str, Any]:
    """Check that a checkpoint is whole and made for this model.

    Compares the class names stored in the checkpoint's ``dataset_meta``
    with ``model.head.classnames`` and the checkpoint's values with the
    model's state dict (prompt-only checkpoints need no frozen CLIP
    weights; frozen keys, if present, must match too): every key present
    (the class prototypes may be missing: they are not used at inference
    and recomputed for training), no unknown key, every value a tensor of
    the model's dtype kind (floating for floating) and shape, and finite.

    Args:
        model (nn.Module): An :class:`MPAFERClassifier`.
        checkpoint (dict): The loaded checkpoint (with ``state_dict`` and
            ``meta``) or a bare state dict.
        filename (str): Named in the error messages.

    Returns:
        dict: The state dict of the checkpoint (``module.`` prefixes
        removed).
    """
    if not isinstance(checkpoint, Mapping):
        raise ValueError(f'checkpoint {filename} holds a '
                         f'{type(checkpoint).__name__}, not a dict')
    state = checkpoint.get('state_dict', checkpoint)
    if not isinstance(state, Mapping):
        raise ValueError(f'checkpoint {filename}: its state_dict is a '
                         f'{type(state).__name__}, not a dict')
    state = {(k[len('module.'):] if k.startswith('module.') else k): v
             for k, v in state.items()}
    head = getattr(model, 'head', None)
    model_classes = tuple(getattr(head, 'classnames', ()) or ())
    meta = checkpoint.get('meta') if 'state_dict' in checkpoint else None
    meta = meta if isinstance(meta, Mapping) else {}
    ckpt_classes = (meta.get('dataset_meta') or {}).get('classes')
    if ckpt_classes is not None and model_classes and \
            tuple(ckpt_classes) != model_classes:
        run = meta.get('experiment_name')
        raise ValueError(
            f'checkpoint {filename}' + (f' (run {run})' if run else '') +
            f' was trained on {len(ckpt_classes)} '
            f'classes {tuple(ckpt_classes)}, but the head of the config has '
            f'{len(model_classes)} classnames {model_classes}; its scores '
            'would be read under the wrong labels. Use the config the '
            'checkpoint was trained with')
    expected = model.state_dict()
    named = dict(model.named_parameters())
    named.update(dict(model.named_buffers()))
    problems = []
    for key in sorted(set(expected) - set(state)):
        if not key.startswith(_OPTIONAL_PREFIX):
            problems.append(f'missing key {key!r}{_hint(key)}')
    for key in sorted(set(state) - set(expected)):
        if key not in named:
            problems.append(f'unexpected key {key!r}')
    for key in sorted(set(state) & set(named)):
        problems += _tensor_problems(key, state[key], named[key])
    if problems:
        raise ValueError(
            f'checkpoint {filename} does not match the model built from the '
            'config (refused; nothing was loaded): ' + '; '.join(problems))
    return state


def _unwrap(model: nn.Module) -> nn.Module:
    from mmengine.model import BaseTTAModel, is_model_wrapper
    while is_model_wrapper(model) or isinstance(model, BaseTTAModel):
        model = model.module
    return model


def checked_load_checkpoint_to_model(model: nn.Module, checkpoint: Any,
                                     strict: bool = False,
                                     logger: Any = None,
                                     revise_keys: Any = ((r'^module\.',
                                                          ''), )) -> Any:
    """mmengine's ``_load_checkpoint_to_model``, after the model checks.

    Models without a prompt head (``head.classnames``) load unchanged.
    Same arguments and return value as mmengine's function.
    """
    inner = _unwrap(model)
    if isinstance(checkpoint, Mapping) and hasattr(
            getattr(inner, 'head', None), 'classnames'):
        has_state = 'state_dict' in checkpoint
        state = checkpoint['state_dict'] if has_state else checkpoint
        if isinstance(state, Mapping):
            for pattern, repl in revise_keys:
                state = {re.sub(pattern, repl, k): v
                         for k, v in state.items()}
        to_check = dict(state_dict=state, meta=checkpoint.get(
            'meta')) if has_state else state
        check_checkpoint(inner, to_check, source_of(checkpoint))
    return _ORIG_LOAD_TO_MODEL[0](model, checkpoint, strict, logger,
                                  list(revise_keys))


def install_model_checks() -> None:
    """Route mmengine's ``_load_checkpoint_to_model`` through the checks.

    Patches the name in every mmengine module that imported it
    (idempotent).
    """
    import importlib

    import mmengine.runner.checkpoint as ckpt_mod
    if _ORIG_LOAD_TO_MODEL:
        return
    _ORIG_LOAD_TO_MODEL.append(ckpt_mod._load_checkpoint_to_model)
    for name in ('mmengine.runner.checkpoint', 'mmengine.runner.runner',
                 'mmengine.infer.infer'):
        try:
            module = importlib.import_module(name)
        except ImportError:  # pragma: no cover - optional parts
            continue
        if hasattr(module, '_load_checkpoint_to_model'):
            module._load_checkpoint_to_model = \
                checked_load_checkpoint_to_model
