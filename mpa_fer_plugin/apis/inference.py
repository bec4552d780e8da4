"""Build MPA-FER models from a config and a checkpoint, and feed them images.

mmpretrain's :func:`~mmpretrain.apis.get_model` already loads our
prompt-only checkpoints (the frozen CLIP weights come from
``clip.pretrained`` in the config; the model's state-dict hooks fill them
in). It loads with ``strict=False``, which alone would only log a
checkpoint of another config (other classes, other prompt shapes) and keep
random prompts; the plugin checks every checkpoint where it enters the
model (:mod:`mpa_fer_plugin.utils.checkpoint_check`, also for
``get_model`` and the Runner) and refuses it with a message that names the
file and the mismatch. :func:`init_mpa_model` builds with ``get_model``
and loads through the same check; the plugin's tools use it.
"""
import os
import os.path as osp
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.dataset import Compose, default_collate
from mmengine.logging import print_log

from ..utils.checkpoint_check import check_checkpoint
from .image_input import (
    IMG_EXTENSIONS,
    ImageInput,
    list_images,
    load_image,
    warn_if_small,
)

__all__ = ['IMG_EXTENSIONS', 'list_images', 'load_image', 'check_checkpoint',
           'load_mpa_checkpoint', 'init_mpa_model', 'build_test_pipeline',
           'prepare_images']

#: Transforms that read files; inputs are decoded before the pipeline.
_LOADERS = ('LoadImageFromFile', 'LoadFERImage', 'mmpretrain.LoadFERImage',
            'mmpretrain.LoadImageFromFile')

def load_mpa_checkpoint(model: nn.Module, checkpoint: str) -> nn.Module:
    """Check a checkpoint against the model, then load it.

    Args:
        model (nn.Module): An :class:`MPAFERClassifier`.
        checkpoint (str): A (prompt-only) checkpoint file.

    Returns:
        nn.Module: ``model``, with ``_dataset_meta['classes']`` set to its
        class names (equal to the checkpoint's).
    """
    from mmengine.runner import CheckpointLoader
    from mmengine.runner import checkpoint as mm_checkpoint

    from ..evaluation.calibration import apply_calibration
    if not hasattr(model, 'head') or not hasattr(model.head, 'classnames'):
        raise ValueError(f'{type(model).__name__} is not an MPA-FER model '
                         '(it needs a head with classnames)')
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint file not found: {checkpoint}')
    ckpt = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
    # The function every mmengine path loads through; the plugin checks
    # the checkpoint there (utils.checkpoint_check) and refuses it whole.
    mm_checkpoint._load_checkpoint_to_model(model, ckpt)
    # meta['calibration']['temperature'] -> head.temperature (1 if absent)
    apply_calibration(model, ckpt, checkpoint)
    # meta['model_card'] -> model._model_card (what it was trained on)
    from .model_card import attach_model_card
    attach_model_card(model, ckpt, checkpoint)
    print_log(f'loaded checkpoint {checkpoint}', logger='current')
    meta = dict(getattr(model, '_dataset_meta', None) or {})
    meta.update((ckpt.get('meta') or {}).get('dataset_meta') or {})
    meta['classes'] = tuple(model.head.classnames)
    model._dataset_meta = meta
    return model


def init_mpa_model(config: Union[str, Config],
                   checkpoint: Optional[str] = None,
                   device: Union[str, torch.device] = 'cpu',
                   cfg_options: Optional[dict] = None) -> nn.Module:
    """Build a model with mmpretrain's ``get_model`` and load a checkpoint.

    Unlike ``get_model(config, pretrained=checkpoint)``, the checkpoint is
    first checked with :func:`check_checkpoint`, so a checkpoint of another
    configuration fails with a clear error instead of a logged warning.
    ``model._dataset_meta['classes']`` is the head's class list (equal to
    the checkpoint's), as mmpretrain's inferencers expect.

    Args:
        config (str | Config): Config file or object.
        checkpoint (str, optional): A (prompt-only) checkpoint file; None
            keeps the initial prompts. Defaults to None.
        device (str | torch.device): Device of the model. Defaults to
            ``'cpu'``.
        cfg_options (dict, optional): Overrides merged into the config.
            Defaults to None.

    Returns:
        nn.Module: The model in eval mode, with ``_config`` and
        ``_dataset_meta`` set.
    """
    from mmpretrain.apis import get_model

    if isinstance(config, (str, os.PathLike)):
        if not osp.isfile(config):
            raise FileNotFoundError(f'config file not found: {config}')
        config = Config.fromfile(os.fspath(config))
    else:
        config = config.copy()
    if cfg_options:
        config.merge_from_dict(cfg_options)
    if checkpoint is not None and not osp.isfile(checkpoint):
        # Fail before the (slow) model build.
        raise FileNotFoundError(f'checkpoint file not found: {checkpoint}')
    model = get_model(config, pretrained=False)
    if checkpoint is not None:
        load_mpa_checkpoint(model, checkpoint)
    elif hasattr(model, 'head') and hasattr(model.head, 'classnames'):
        meta = dict(getattr(model, '_dataset_meta', None) or {})
        meta['classes'] = tuple(model.head.classnames)
        model._dataset_meta = meta
    return model.to(device).eval()


def build_test_pipeline(config: Optional[Config]) -> Compose:
    """The config's test pipeline without its file-loading transform.

    Images are decoded by :func:`load_image` first and enter the pipeline
    as ``results['img']``.

    Args:
        config (Config): A config with ``test_dataloader.dataset.pipeline``.

    Returns:
        Compose: The pipeline.
    """
    from mmpretrain.registry import TRANSFORMS
    try:
        steps = config.test_dataloader.dataset.pipeline
    except (AttributeError, KeyError) as e:
        raise ValueError('the config has no test_dataloader.dataset.pipeline '
                         'to preprocess images with') from e
    steps = [s for s in steps if s.get('type') not in _LOADERS]
    return Compose([TRANSFORMS.build(s) for s in steps])


def _default_steps(model: nn.Module) -> List[dict]:
    """Resize + center crop to the image tower's input size."""
    size = model.backbone.visual.image_size
    size = size[0] if isinstance(size, (tuple, list)) else size
    return [dict(type='ResizeEdge', scale=size, edge='short',
                 backend='pillow', interpolation='bicubic'),
            dict(type='CenterCrop', crop_size=size),
            dict(type='PackInputs')]


def prepare_images(model: nn.Module,
                   images: Sequence[ImageInput],
                   pipeline: Optional[Compose] = None
                   ) -> Tuple[torch.Tensor, List[np.ndarray]]:
    """Turn images into the normalised batch the model takes.

    Args:
        model (nn.Module): The model (its ``_config`` gives the test
            pipeline, its ``data_preprocessor`` the normalisation).
        images (Sequence[str | np.ndarray]): Paths or BGR arrays.
        pipeline (Compose, optional): Overrides the config's test pipeline.
            Without both, images are resized and center-cropped to the
            tower's input size. Defaults to None.

    Returns:
        tuple[Tensor, list[np.ndarray]]: The normalised inputs
        ``[B, 3, H, W]`` and the crops the model sees (RGB ``uint8``,
        ``H x W x 3``), for drawing.
    """
    from mmpretrain.registry import TRANSFORMS
    if pipeline is None:
        cfg = getattr(model, '_config', None)
        if cfg is not None and 'test_dataloader' in cfg:
            pipeline = build_test_pipeline(cfg)
        else:
            pipeline = Compose(
                [TRANSFORMS.build(s) for s in _default_steps(model)])
    items = []
    for image in images:
        img = load_image(image)
        warn_if_small(model, img, image if isinstance(image, str) else
                      'an input image')
        items.append(pipeline(dict(img=img, img_shape=img.shape[:2],
                                   ori_shape=img.shape[:2])))
    batch = default_collate(items)
    # The images were decoded as BGR; the crops are returned as RGB.
    crops = [
        np.ascontiguousarray(
            item['inputs'].permute(1, 2, 0).numpy()[..., ::-1])
        for item in items
    ]
    data = model.data_preprocessor(batch, False)
    return data['inputs'], crops
