"""The MPA-FER image classifier (mmpretrain ``ImageClassifier`` semantics)."""
import copy
from typing import Optional, Union

import torch.nn as nn
from mmpretrain.models.classifiers import ImageClassifier
from mmpretrain.registry import MODELS

from ..utils.clip_loader import clear_clip_cache, normalize_clip_spec


def _inject_clip(cfg: Union[dict, nn.Module], clip: dict,
                 role: str) -> Union[dict, nn.Module]:
    """Fill ``cfg['clip']`` from the classifier's spec, or check they match."""
    if isinstance(cfg, nn.Module):
        return cfg
    if not isinstance(cfg, dict):
        raise TypeError(f'{role} must be a dict or nn.Module, got '
                        f'{type(cfg).__name__}')
    cfg = copy.copy(cfg)
    own = cfg.get('clip')
    if own is None:
        cfg['clip'] = copy.deepcopy(clip)
    elif normalize_clip_spec(own) != normalize_clip_spec(clip):
        raise ValueError(f'{role}.clip={dict(own)!r} differs from the '
                         f'classifier clip={dict(clip)!r}; set it in one '
                         'place')
    return cfg


@MODELS.register_module()
class MPAFERClassifier(ImageClassifier):
    """MPA-FER: frozen CLIP with multimodal prompts for FER.

    `Multimodal Prompt Alignment for Facial Expression Recognition
    <https://arxiv.org/abs/2506.21017>`_ (ICCV 2025), as an mmpretrain
    ``ImageClassifier``: ``backbone`` (:class:`MPAPromptedViT`) returns the
    global and patch features, ``head`` (:class:`MPAPromptHead`) scores
    them against the class prompts and computes the losses.
    ``forward(mode='tensor')`` returns the class logits (so Grad-CAM tools
    work), ``'predict'`` returns ``DataSample``s with ``pred_score`` and
    ``pred_label``, ``'loss'`` the loss dict.

    The ``clip`` spec is given once here and copied into the backbone and
    head configs, so both load one CLIP instance (the loader cache is
    cleared once both are built). Only the prompts (and prototypes) train
    and are saved: ``state_dict()`` holds no frozen CLIP weight, and
    prompt-only state dicts load with ``strict=True``.

    Args:
        backbone (dict | nn.Module): The image tower,
            e.g. ``dict(type='MPAPromptedViT', num_prompts=8)``.
        head (dict | nn.Module): The prompt head,
            e.g. ``dict(type='MPAPromptHead', classnames=...)``.
        clip (dict, optional): The ``clip`` spec shared by backbone and head
            (``model_name``, ``pretrained``, ``model_cfg``, ``quick_gelu``).
            None: each sub-config carries its own. Defaults to None.
        neck (dict, optional): Unused by MPA-FER. Defaults to None.
        pretrained (str, optional): A checkpoint to initialise from.
            Defaults to None.
        train_cfg (dict, optional): Batch augments (mmpretrain). Defaults
            to None.
        data_preprocessor (dict, optional): Defaults to
            ``ClsDataPreprocessor``; MPA-FER configs set CLIP's mean/std
            (0-255 scale) and ``to_rgb=True``. Defaults to None.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 backbone: Union[dict, nn.Module],
                 head: Union[dict, nn.Module],
                 clip: Optional[dict] = None,
                 neck: Optional[dict] = None,
                 pretrained: Optional[str] = None,
                 train_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if head is None:
            raise ValueError('MPAFERClassifier needs a head (MPAPromptHead)')
        if clip is not None:
            if not isinstance(clip, dict):
                raise TypeError(f'clip must be a dict, got '
                                f'{type(clip).__name__}')
            backbone = _inject_clip(backbone, clip, 'backbone')
            head = _inject_clip(head, clip, 'head')
        try:
            super().__init__(
                backbone=backbone, neck=neck, head=head,
                pretrained=pretrained, train_cfg=train_cfg,
                data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        finally:
            # Backbone and head now hold their CLIP parts; do not keep the
            # instance alive for later, unrelated builds.
            clear_clip_cache()
        self.clip = copy.deepcopy(clip)
        b_dim = getattr(self.backbone, 'embed_dim', None)
        h_dim = getattr(self.head, 'embed_dim', None)
        if b_dim is not None and h_dim is not None and b_dim != h_dim:
            raise ValueError(
                f'backbone embed_dim={b_dim} and head embed_dim={h_dim} '
                'differ: backbone and head were built from different CLIP '
                'models')
        if getattr(self.backbone, 'out_patches', False) is None:
            self.backbone.out_patches = bool(
                getattr(self.head, 'uses_local', True))
