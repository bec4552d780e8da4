"""Model cards: what a model was trained on, carried with its weights.

A model card is a plain dict stored in ``checkpoint['meta']['model_card']``
(written at save time by :class:`~mpa_fer_plugin.engine.hooks.
MPAModelCardHook`) and attached to a loaded model as ``model._model_card``
(by :func:`~mpa_fer_plugin.apis.inference.load_mpa_checkpoint`). A model
built without a checkpoint (zero-shot CLIP) gets a card from its config.
Its keys:

* ``kind``: ``'prompt-tuned'`` (trained prompts), ``'zero-shot'`` (a
  frozen CLIP, nothing learned) or ``'untrained'`` (prompts at their
  random initialisation);
* ``training``: ``dataset``, ``split``, ``data_root`` (None for zero-shot);
* ``domain``: the images the model knows, one of :data:`DOMAINS`;
* ``classes`` (label order), ``crop_geometry``, ``input_size``,
  ``base_clip`` (open_clip name, weights file name or tag, activation);
* ``selection``: which checkpoint of the run this is;
* ``metrics``: ``{'split', 'epoch', 'values'}`` measured during training;
* ``config``, ``name``, ``notes``, ``format_version``.

The source information comes from a ``model_card`` dict in the config
(set by the dataset configs: ``dataset``, ``domain``, ``train_split``,
``eval_split``; zero-shot configs add ``kind='zero-shot'``).

A model whose card's domain is :data:`DEMO_DOMAIN` warns once
(:class:`DemoDomainWarning`) the first time it scores anything, so its
labels are never mistaken for predictions on real faces.
"""
import datetime
import os
import os.path as osp
import warnings
from typing import Any, Dict, Optional, Union

import numpy as np

#: Version of the card layout.
CARD_VERSION = 1
#: Domain of the generated demo world (drawn faces).
DEMO_DOMAIN = 'synthetic-drawn-faces'
#: Domain of real FER datasets (RAF-DB, AffectNet, FERPlus).
REAL_DOMAIN = 'real-faces'
#: Domain of a frozen web-trained CLIP used zero-shot.
WEB_DOMAIN = 'web-photos'
#: The known domains.
DOMAINS = (DEMO_DOMAIN, REAL_DOMAIN, WEB_DOMAIN)
#: The known kinds.
KINDS = ('prompt-tuned', 'zero-shot', 'untrained')


class DemoDomainWarning(UserWarning):
    """A model trained on the synthetic demo world is used on an input."""


def _cfg_get(cfg, key: str, default=None):
    if cfg is None:
        return default
    try:
        return cfg.get(key, default)
    except AttributeError:
        return default


def _plain(value):
    """Config values as plain JSON-able Python objects."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.generic, )):
        return value.item()
    if hasattr(value, 'tolist'):
        return value.tolist()
    return value


def _base_clip(cfg) -> Optional[Dict[str, Any]]:
    model = _cfg_get(cfg, 'model') or {}
    clip = _cfg_get(model, 'clip') or _cfg_get(
        _cfg_get(model, 'backbone'), 'clip')
    if not clip:
        return None
    pretrained = clip.get('pretrained')
    is_file = isinstance(pretrained, str) and (
        osp.isfile(osp.expanduser(pretrained)) or '/' in pretrained)
    quick_gelu = clip.get('quick_gelu')
    if quick_gelu is None and clip.get('model_cfg'):
        quick_gelu = clip['model_cfg'].get('quick_gelu')
    return dict(
        model_name=clip.get('model_name') or (
            'model_cfg' if clip.get('model_cfg') else None),
        weights=osp.basename(pretrained) if is_file else None,
        tag=None if is_file else pretrained,
        quick_gelu=quick_gelu)


def _trainable(model) -> Optional[int]:
    if model is None:
        return None
    head = getattr(model, 'head', None)
    backbone = getattr(model, 'backbone', None)
    count = 0
    ctx = getattr(getattr(head, 'prompt_learner', None), 'ctx', None)
    if ctx is not None:
        count += ctx.numel()
    prompts = getattr(backbone, 'prompts', None)
    if prompts is not None:
        count += prompts.numel()
    return count


def _geometry(cfg) -> Optional[str]:
    geometry = _cfg_get(cfg, 'face_geometry')
    if isinstance(geometry, str):
        return geometry
    try:
        from .face.align import geometry_for_config
        return _plain(geometry_for_config(cfg).to_dict()).get('name')
    except Exception:  # a card never blocks saving or loading
        return None


def _input_size(cfg, model) -> Optional[int]:
    visual = getattr(getattr(model, 'backbone', None), 'visual', None)
    size = getattr(visual, 'image_size', None)
    if size is None:
        size = _cfg_get(cfg, 'img_size')
    if isinstance(size, (tuple, list)):
        size = size[0]
    return None if size is None else int(size)


def _selection(cfg) -> str:
    hooks = _cfg_get(cfg, 'default_hooks') or {}
    ckpt = _cfg_get(hooks, 'checkpoint') or {}
    best = _cfg_get(ckpt, 'save_best')
    card = _cfg_get(cfg, 'model_card') or {}
    split = card.get('eval_split', 'val')
    if best:
        key = 'accuracy/top1 (the first metric)' if best == 'auto' else best
        return (f'best_*.pth: the epoch of the best {key} on the {split!r} '
                'split during training (CheckpointHook save_best); '
                'epoch_N.pth: the last epoch N')
    return 'the checkpoint of the epoch it was saved at'


def build_model_card(cfg=None,
                     model=None,
                     kind: Optional[str] = None,
                     metrics: Optional[Dict[str, Any]] = None,
                     epoch: Optional[int] = None) -> Dict[str, Any]:
    """Build a model card from a config (and the model, if built).

    Args:
        cfg (Config | dict, optional): The model's config; its
            ``model_card`` dict gives the dataset, domain and splits.
        model (nn.Module, optional): The model (classes, input size, and
            whether it has anything trainable).
        kind (str, optional): One of :data:`KINDS`; None: the config's
            ``model_card.kind``, else ``'zero-shot'`` for a model without
            learnable prompts and ``'untrained'`` otherwise.
        metrics (dict, optional): Validation metrics to record.
        epoch (int, optional): The epoch they were measured at.

    Returns:
        dict: The card (see the module docstring).
    """
    source = dict(_cfg_get(cfg, 'model_card') or {})
    kind = kind or source.get('kind')
    if kind is None:
        kind = 'zero-shot' if _trainable(model) == 0 else 'untrained'
    if kind not in KINDS:
        raise ValueError(f'model card kind {kind!r} must be one of {KINDS}')
    head = getattr(model, 'head', None)
    classes = getattr(head, 'classnames', None)
    if classes is None:
        classes = _cfg_get(_cfg_get(_cfg_get(cfg, 'model'), 'head'),
                           'classnames')
    domain = source.get('domain')
    if domain is not None and domain not in DOMAINS:
        raise ValueError(f'model_card.domain={domain!r} must be one of '
                         f'{DOMAINS}')
    data_root = _cfg_get(_cfg_get(_cfg_get(cfg, 'train_dataloader'),
                                  'dataset'), 'data_root')
    data_root = data_root or _cfg_get(cfg, 'data_root')
    trained = kind == 'prompt-tuned'
    filename = getattr(cfg, 'filename', None)
    card = dict(
        format_version=CARD_VERSION,
        name=source.get('name'),
        kind=kind,
        method=source.get('method') or (
            'zero-shot CLIP' if kind == 'zero-shot' else 'MPA-FER'),
        training=dict(
            dataset=source.get('dataset') if trained else None,
            split=source.get('train_split', 'train') if trained else None,
            data_root=str(data_root) if trained and data_root else None),
        domain=domain,
        classes=None if classes is None else [str(c) for c in classes],
        crop_geometry=_geometry(cfg),
        input_size=_input_size(cfg, model),
        base_clip=_base_clip(cfg),
        selection=_selection(cfg) if trained else None,
        metrics=None,
        config=osp.basename(filename) if filename else None,
        created=datetime.datetime.now(datetime.timezone.utc).strftime(
            '%Y-%m-%dT%H:%M:%SZ'),
        notes=source.get('notes'))
    if kind == 'zero-shot':
        card['training'] = dict(dataset=None, split=None, data_root=None,
                                note='no FER training: a frozen CLIP '
                                'scores class-name prompts')
    if metrics:
        card['metrics'] = dict(
            split=source.get('eval_split', 'val'), epoch=epoch,
            dataset=source.get('dataset'),
            values={k: _plain(v) for k, v in metrics.items()
                    if isinstance(v, (int, float, np.generic))})
    return card


def read_model_card(model_or_ckpt: Union[str, dict, Any]
                    ) -> Optional[Dict[str, Any]]:
    """Return the model card of a model, a checkpoint dict or file.

    Args:
        model_or_ckpt: A model built by
            :func:`~mpa_fer_plugin.apis.init_mpa_model` (its attached
            card, else one built from its config), a loaded checkpoint
            dict or a checkpoint file path.

    Returns:
        dict | None: The card; None for a checkpoint without one (saved
        before cards existed).
    """
    if isinstance(model_or_ckpt, (str, os.PathLike)):
        from ..utils.safe_checkpoint import safe_torch_load
        path = os.fspath(model_or_ckpt)
        if not osp.isfile(path):
            raise FileNotFoundError(f'checkpoint file not found: {path}')
        ckpt = safe_torch_load(path, map_location='cpu')
        return read_model_card(ckpt)
    if isinstance(model_or_ckpt, dict):
        meta = model_or_ckpt.get('meta') or {}
        card = meta.get('model_card') if isinstance(meta, dict) else None
        return dict(card) if card else None
    card = getattr(model_or_ckpt, '_model_card', None)
    if card is None:
        card = build_model_card(getattr(model_or_ckpt, '_config', None),
                                model_or_ckpt)
        try:
            model_or_ckpt._model_card = card
        except AttributeError:
            pass
    return card


def attach_model_card(model, checkpoint: dict,
                      filename: str = 'the checkpoint') -> Dict[str, Any]:
    """Attach a loaded checkpoint's card to the model (``_model_card``).

    A checkpoint without a card gets one from the model's config with
    ``kind='prompt-tuned'`` and a note that the card was not saved with it.

    Args:
        model (nn.Module): The model the checkpoint was loaded into.
        checkpoint (dict): The loaded checkpoint.
        filename (str): The file, recorded in the card as ``checkpoint``.

    Returns:
        dict: The attached card.
    """
    card = read_model_card(checkpoint)
    if card is None:
        card = build_model_card(getattr(model, '_config', None), model,
                                kind='prompt-tuned')
        card['notes'] = ('no model card in the checkpoint (saved without '
                         'MPAModelCardHook): rebuilt from the config')
    card['checkpoint'] = osp.basename(str(filename))
    model._model_card = card
    model._domain_warned = False
    return card


def ensure_model_card(model, checkpoint: Optional[str] = None
                      ) -> Dict[str, Any]:
    """The model's card, attaching the checkpoint's if not done on load.

    Args:
        model (nn.Module): A built model.
        checkpoint (str, optional): The checkpoint it was loaded from.

    Returns:
        dict: The card (see :func:`read_model_card`).
    """
    if checkpoint is not None and \
            getattr(model, '_model_card', None) is None:
        from ..utils.safe_checkpoint import safe_torch_load
        attach_model_card(model, safe_torch_load(checkpoint, 'cpu'),
                          checkpoint)
    return read_model_card(model)


def card_label(card: Optional[Dict[str, Any]]) -> str:
    """A one-line label of a card, for drawings, logs and printouts."""
    if not card:
        return 'model without a card'
    clip = card.get('base_clip') or {}
    base = clip.get('model_name') or 'CLIP'
    source = clip.get('tag') or clip.get('weights')
    base = f'{base} ({source})' if source else base
    if card.get('kind') == 'zero-shot':
        text = f'ZERO-SHOT {base}, no FER training'
    elif card.get('kind') == 'untrained':
        text = f'UNTRAINED prompts on {base}'
    else:
        dataset = (card.get('training') or {}).get('dataset') or '?'
        dataset = dataset.split(' (')[0]  # 'demo world (generator ...)'
        text = f"{card.get('method') or 'model'} trained on {dataset}"
    if card.get('domain') == DEMO_DOMAIN:
        text = 'DEMO (drawn faces only): ' + text
    return text


def demo_warning_text(card: Dict[str, Any]) -> str:
    """The message of :class:`DemoDomainWarning` for a card."""
    return (f"this model's card says it knows the domain {DEMO_DOMAIN!r} "
            '(the generated demo world of drawn faces); its labels on other '
            'images, real photos included, are not expression predictions. '
            'For real faces use a zero-shot CLIP config '
            '(configs/zero_shot/, docs/zero_shot.md) or a model trained on '
            'a real FER dataset (docs/model_zoo.md).')


def warn_if_demo(model) -> bool:
    """Warn once per model if its card's domain is the demo world.

    Args:
        model (nn.Module): A model with a card (see :func:`read_model_card`).

    Returns:
        bool: Whether the card's domain is :data:`DEMO_DOMAIN`.
    """
    card = read_model_card(model)
    demo = bool(card) and card.get('domain') == DEMO_DOMAIN
    if demo and not getattr(model, '_domain_warned', False):
        warnings.warn(demo_warning_text(card), DemoDomainWarning,
                      stacklevel=3)
        try:
            model._domain_warned = True
        except AttributeError:
            pass
    return demo


def draw_card_banner(image: np.ndarray, card: Optional[Dict[str, Any]]
                     ) -> np.ndarray:
    """Add a strip under a BGR drawing that names the model (card label).

    The label is wrapped onto as many lines as the width needs.

    Args:
        image (np.ndarray): The BGR drawing.
        card (dict, optional): The model's card.

    Returns:
        np.ndarray: A new image, taller by the strip.
    """
    import cv2
    font = cv2.FONT_HERSHEY_SIMPLEX
    h, w = image.shape[:2]
    scale = max(0.35, min(0.6, w / 900))
    lines, line = [], ''
    for word in card_label(card).split(' '):
        trial = f'{line} {word}'.strip()
        if line and cv2.getTextSize(trial, font, scale, 1)[0][0] > w - 8:
            lines.append(line)
            trial = word
        line = trial
    lines.append(line)
    (_, th), base = cv2.getTextSize('Ag', font, scale, 1)
    step = th + base + 4
    strip = np.zeros((step * len(lines) + 6, w, 3), np.uint8)
    demo = bool(card) and card.get('domain') == DEMO_DOMAIN
    strip[:] = (0, 0, 160) if demo else (60, 60, 60)
    for k, text in enumerate(lines):
        cv2.putText(strip, text, (4, 3 + th + k * step), font, scale,
                    (255, 255, 255), 1, cv2.LINE_AA)
    return np.concatenate([image, strip], axis=0)
