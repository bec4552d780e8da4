"""Prompt-only state dicts for modules that wrap frozen CLIP towers.

The frozen CLIP weights can always be rebuilt from the ``clip`` spec, so
checkpoints should hold only what training changed (prompts, prototypes).
:func:`register_frozen_state_hooks` installs two hooks on a module (pattern:
mmpretrain ``peft/lora.py``):

* a ``state_dict`` hook that drops every key under the frozen sub-modules;
* a ``load_state_dict`` pre-hook that fills keys of the frozen sub-modules
  that the incoming state dict lacks with the module's own current tensors,
  so that loading a prompt-only state dict with ``strict=True`` succeeds,
  while a missing prompt key still fails with torch's error, and a
  mis-shaped prompt or prototype tensor raises a ``ValueError`` naming the
  key and both shapes — also under ``strict=False``, which is what
  mmengine's ``load_checkpoint`` and mmpretrain's ``get_model`` use and
  which would otherwise only log the mismatch and keep random prompts.
"""
from typing import Sequence

import torch.nn as nn


def register_frozen_state_hooks(module: nn.Module,
                                frozen: Sequence[str]) -> None:
    """Keep the sub-modules ``frozen`` out of ``module``'s state dict.

    Args:
        module (nn.Module): The module that owns the frozen sub-modules.
        frozen (Sequence[str]): Attribute names of the frozen sub-modules
            (e.g. ``['visual']``).
    """
    names = tuple(frozen)

    def drop_frozen(mod, state_dict, prefix, local_metadata):
        starts = tuple(f'{prefix}{n}.' for n in names)
        for key in [k for k in state_dict if k.startswith(starts)]:
            del state_dict[key]

    def fill_frozen(mod, state_dict, prefix, local_metadata, strict,
                    missing_keys, unexpected_keys, error_msgs):
        own_trained = mod.state_dict(prefix=prefix, keep_vars=True)
        for key, value in own_trained.items():
            theirs = state_dict.get(key)
            if theirs is not None and hasattr(theirs, 'shape') and tuple(
                    theirs.shape) != tuple(value.shape):
                raise ValueError(
                    f'checkpoint tensor {key!r} has shape '
                    f'{tuple(theirs.shape)} but this model expects '
                    f'{tuple(value.shape)}: the checkpoint comes from '
                    'another config (number of classes, num_prompts, '
                    'prompt_depth, num_ctx or class_specific_ctx differ)')
        for name in names:
            sub = getattr(mod, name, None)
            if sub is None:
                continue
            own = sub.state_dict(prefix=f'{prefix}{name}.', keep_vars=True)
            for key, value in own.items():
                state_dict.setdefault(key, value.detach())

    module._register_state_dict_hook(drop_frozen)
    module.register_load_state_dict_pre_hook(fill_frozen)


def check_init_cfg(init_cfg, owner: str) -> None:
    """Refuse initialisers that would overwrite the frozen CLIP weights.

    Layer initialisers (``Normal``, ``Xavier``, ...) apply to every matching
    layer, including the frozen CLIP ones; only ``Pretrained`` (loading a
    prompt checkpoint) is safe.

    Args:
        init_cfg (dict | list[dict], optional): The module's ``init_cfg``.
        owner (str): The class name, for the message.
    """
    cfgs = init_cfg if isinstance(init_cfg, (list, tuple)) else [init_cfg]
    for cfg in cfgs:
        if cfg is None:
            continue
        kind = cfg.get('type') if isinstance(cfg, dict) else cfg
        if kind != 'Pretrained':
            raise ValueError(
                f'{owner} init_cfg type {kind!r} would re-initialise the '
                "frozen CLIP weights; only type='Pretrained' is supported "
                '(prompts are initialised by their own std arguments)')
