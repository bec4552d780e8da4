"""Cache files of the class prototypes, keyed by what they depend on.

The prototypes of Eq. 6 are a function of

* the frozen CLIP image tower (architecture and weights),
* the data preprocessor (mean, std, channel order),
* the training images averaged over (paths and labels, after the
  ``samples_per_class`` selection) and the class list,
* the pipeline that loads them (the test pipeline),
* ``samples_per_class`` and its ``seed``, and ``normalize``.

:func:`prototype_cache_key` hashes each of these into a *part*; the key is
the hash of all parts. A cache file (:func:`save_prototypes`) stores the
prototypes with the key and the parts, so that a file written for another
model or dataset is recognised and the mismatching parts can be named
(:func:`load_prototypes`). The file is a plain dict with a ``'prototypes'``
tensor, so ``MPAPromptHead(prototypes='file.pt')`` reads it too.
"""
import hashlib
import json
import logging
import os
import os.path as osp
import time
from typing import Any, Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.logging import print_log

#: Version of the cache format; part of the key.
CACHE_FORMAT = 1


def _sha(data: Any) -> str:
    if not isinstance(data, bytes):
        data = json.dumps(data, sort_keys=True, default=str).encode()
    return hashlib.sha256(data).hexdigest()


def tensors_digest(module: nn.Module) -> str:
    """Hash the names, shapes, dtypes and values of a module's tensors.

    Args:
        module (nn.Module): e.g. the frozen CLIP image tower.

    Returns:
        str: A sha256 hex digest.
    """
    h = hashlib.sha256()
    tensors = list(module.named_parameters()) + list(module.named_buffers())
    for name, tensor in sorted(tensors, key=lambda kv: kv[0]):
        t = tensor.detach().cpu().contiguous()
        h.update(f'{name}|{tuple(t.shape)}|{t.dtype};'.encode())
        h.update(t.view(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def _preprocessor_desc(preprocessor: Optional[nn.Module]) -> Dict[str, Any]:
    if preprocessor is None:
        return {}
    desc: Dict[str, Any] = {'type': type(preprocessor).__name__}
    for attr in ('mean', 'std'):
        value = getattr(preprocessor, attr, None)
        if isinstance(value, torch.Tensor):
            desc[attr] = [round(v, 6) for v in value.view(-1).tolist()]
    for attr in ('_channel_conversion', '_enable_normalize', 'pad_value',
                 'pad_size_divisor'):
        if hasattr(preprocessor, attr):
            desc[attr.lstrip('_')] = getattr(preprocessor, attr)
    return desc


def prototype_cache_key(model: nn.Module,
                        files: Sequence[str],
                        labels: Sequence[int],
                        classnames: Sequence[str],
                        pipeline: Sequence[dict],
                        samples_per_class: int,
                        seed: int,
                        normalize: bool) -> Tuple[str, Dict[str, Any]]:
    """Compute the cache key of a set of prototypes.

    Args:
        model (nn.Module): The (unwrapped) classifier; its
            ``backbone.visual`` (or ``backbone``) and ``data_preprocessor``
            are fingerprinted.
        files (Sequence[str]): Image paths averaged over (after selection).
        labels (Sequence[int]): Their labels.
        classnames (Sequence[str]): Class names in label order.
        pipeline (Sequence[dict]): The loading pipeline config.
        samples_per_class (int): ``-1`` or the subset size.
        seed (int): Seed of the subset (ignored when ``-1``).
        normalize (bool): Whether features are L2-normalised first.

    Returns:
        tuple[str, dict]: The key (sha256 hex) and its named parts.
    """
    backbone = getattr(model, 'backbone', model)
    tower = getattr(backbone, 'visual', backbone)
    if len(files) != len(labels):
        raise ValueError(f'{len(files)} files but {len(labels)} labels')
    file_list = '\n'.join(f'{f}\t{int(y)}' for f, y in zip(files, labels))
    parts = {
        'format': CACHE_FORMAT,
        'clip_arch': _sha(repr(tower)),
        'clip_weights': tensors_digest(tower),
        'preprocessor': _sha(_preprocessor_desc(
            getattr(model, 'data_preprocessor', None))),
        'classes': list(classnames),
        'file_list': _sha(file_list.encode()),
        'pipeline': _sha(list(pipeline)),
        'samples_per_class': int(samples_per_class),
        'seed': None if samples_per_class == -1 else int(seed),
        'normalize': bool(normalize),
    }
    return _sha(parts), parts


def cache_path(cache_dir: str, key: str) -> str:
    """Return the file the prototypes of ``key`` are cached in."""
    return osp.join(cache_dir, f'prototypes_{key[:16]}.pt')


def save_prototypes(path: str, prototypes: torch.Tensor, key: str,
                    parts: Dict[str, Any],
                    meta: Optional[Dict[str, Any]] = None) -> None:
    """Write prototypes with their key (atomically: temp file + rename).

    Args:
        path (str): Output file.
        prototypes (Tensor): ``[C, D]``.
        key (str): From :func:`prototype_cache_key`.
        parts (dict): Its parts.
        meta (dict, optional): Extra information (class counts, ...).
    """
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    data = dict(prototypes=prototypes.detach().float().cpu().clone(),
                key=key, key_parts=dict(parts), meta=dict(meta or {}),
                created=time.strftime('%Y-%m-%d %H:%M:%S'))
    tmp = f'{path}.tmp{os.getpid()}'
    torch.save(data, tmp)
    os.replace(tmp, path)


def _describe_mismatch(stored: Any, parts: Dict[str, Any]) -> str:
    if not isinstance(stored, dict):
        return 'it has no cache key (not written by PrototypeHook)'
    diff = [name for name in parts if stored.get(name) != parts[name]]
    if stored.get('format') != parts['format']:
        return (f'its cache format {stored.get("format")!r} is not '
                f'{parts["format"]}')
    return ('it was computed with a different ' + ', '.join(diff)
            if diff else 'its key does not match')


def load_prototypes(path: str,
                    key: str,
                    parts: Dict[str, Any],
                    shape: Optional[Tuple[int, int]] = None,
                    logger: str = 'current') -> Optional[torch.Tensor]:
    """Read cached prototypes if the file exists and matches ``key``.

    A file written for another model, dataset, pipeline or setting is not
    used: a warning names what differs and None is returned, so that the
    caller recomputes (and overwrites) it.

    Args:
        path (str): The cache file.
        key (str): The expected key.
        parts (dict): The expected parts (to explain a mismatch).
        shape (tuple[int, int], optional): Expected ``(C, D)``.
        logger (str): Logger for the warning. Defaults to ``'current'``.

    Returns:
        Tensor | None: The prototypes, or None if missing or stale.
    """
    if not osp.isfile(path):
        return None
    try:
        data = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as err:  # unreadable or not a torch file
        print_log(f'prototype cache {path} cannot be read ({err}); '
                  'recomputing it', logger=logger, level=logging.WARNING)
        return None
    stored_key = data.get('key') if isinstance(data, dict) else None
    protos = data.get('prototypes') if isinstance(data, dict) else None
    if stored_key != key or not isinstance(protos, torch.Tensor):
        stored_parts = data.get('key_parts') if isinstance(data,
                                                           dict) else None
        print_log(f'prototype cache {path} does not match this model and '
                  f'data: {_describe_mismatch(stored_parts, parts)}; '
                  'recomputing it', logger=logger, level=logging.WARNING)
        return None
    if shape is not None and tuple(protos.shape) != tuple(shape) or \
            not torch.isfinite(protos).all():
        print_log(f'prototype cache {path} holds invalid prototypes (shape '
                  f'{tuple(protos.shape)}, expected {tuple(shape or ())}); '
                  'recomputing it', logger=logger, level=logging.WARNING)
        return None
    return protos.float()
