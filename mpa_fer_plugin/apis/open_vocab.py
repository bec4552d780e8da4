"""Open-vocabulary scoring with the learned text context (experimental).

MPA-FER learns one context ``[v_1..v_M]`` shared by all classes
(docs/method.md), so any class name can be put into the prompt
``[SOS][v_1..v_M][name].[EOS]`` and encoded by the frozen text tower. The
resulting text features are scored against an image with the same CGLA
rule as the trained classes (Eqs. 8-10). This makes it possible to score
expressions never seen in training (e.g. ``'contempt'`` for a RAF-DB
model), as in CoOp's base-to-novel setting.

**Experimental**: nothing trains the context to generalise beyond the
training classes, and scores of unseen names are only as good as CLIP's
text prior; check them against labelled data before trusting them. A
class-specific context (CSC) holds one context per *training* class and
cannot encode new names.
"""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn

from ..models.heads.cgla_scores import cgla_scores


def _check_names(names: Sequence[str]) -> Tuple[str, ...]:
    if isinstance(names, str) or not isinstance(names, (list, tuple)):
        raise TypeError(f'class names must be a list or tuple of str, got '
                        f'{names!r}')
    out = tuple(n.strip() for n in names)
    if not out or any(not isinstance(n, str) or not n for n in out):
        raise ValueError(f'class names {tuple(names)!r} must be non-empty '
                         'strings')
    if len({n.lower() for n in out}) != len(out):
        raise ValueError(f'class names {out!r} contain duplicates')
    return out


def _clip_spec(model: nn.Module) -> dict:
    """The ``clip`` spec the model's head was built from."""
    spec = getattr(model, 'clip', None)
    if spec:
        return dict(spec)
    cfg = getattr(model, '_config', None)
    try:
        head_clip = cfg.model.head.get('clip') or cfg.model.get('clip')
    except AttributeError:
        head_clip = None
    if not head_clip:
        raise ValueError(
            'cannot find the clip spec the model was built from (neither '
            'model.clip nor model._config.model[.head].clip); pass clip=')
    return dict(head_clip)


def encode_classnames(model: nn.Module,
                      names: Sequence[str],
                      clip: Optional[dict] = None) -> torch.Tensor:
    """Encode class names with the head's learned context (experimental).

    The prompts are built exactly like the head's own
    (:class:`~mpa_fer_plugin.models.heads.MPATextPromptLearner`: same
    context length, ``prompt_template`` and tokenizer), the trained context
    vectors are copied in, and the frozen text tower of the head encodes
    them; for the training class names the result equals
    ``model.head.text_features()``. CLIP's token embedding table is not
    kept by the model, so CLIP is loaded again from the ``clip`` spec.

    Args:
        model (nn.Module): An :class:`MPAFERClassifier` with a shared
            (non-CSC) text context.
        names (Sequence[str]): The class names to encode; any text.
        clip (dict, optional): The ``clip`` spec; None reads it from the
            model (``model.clip`` or its config). Defaults to None.

    Returns:
        Tensor: Text features ``[len(names), D]`` (float32, not
        normalised), on the model's device.
    """
    from ..models.heads.mpa_text_prompt_learner import MPATextPromptLearner
    from ..models.utils.clip_loader import (
        clear_clip_cache,
        get_tokenizer,
        load_clip,
    )
    names = _check_names(names)
    head = model.head
    learner = head.prompt_learner
    if learner.class_specific_ctx:
        raise ValueError(
            'open-vocabulary scoring needs a shared text context; this head '
            'uses a class-specific context (class_specific_ctx=True), which '
            f'only exists for its training classes {learner.classnames}')
    spec = dict(clip) if clip is not None else _clip_spec(model)
    clip_model = load_clip(spec)
    try:
        new = MPATextPromptLearner(
            clip_model, get_tokenizer(spec), names, num_ctx=learner.num_ctx,
            prompt_template=learner.prompt_template)
    finally:
        clear_clip_cache()
    device = learner.token_embeds.device
    new = new.to(device)
    with torch.no_grad():
        if learner.ctx is not None:
            new.ctx.copy_(learner.ctx)
        feats, _ = head.text_encoder(new(), new.eot_idx)
    return feats.float()


def score_classnames(model: nn.Module,
                     inputs: torch.Tensor,
                     names: Sequence[str],
                     text_feats: Optional[torch.Tensor] = None
                     ) -> torch.Tensor:
    """CGLA logits of images against arbitrary class names (experimental).

    Args:
        model (nn.Module): An :class:`MPAFERClassifier` (shared context).
        inputs (Tensor): Normalised images ``[B, 3, H, W]`` (see
            :func:`~mpa_fer_plugin.apis.prepare_images`).
        names (Sequence[str]): The class names to score.
        text_feats (Tensor, optional): Features from
            :func:`encode_classnames` for ``names``, to avoid re-encoding.
            Defaults to None.

    Returns:
        Tensor: Logits ``[B, len(names)]`` (``logit_scale * S(x, c)``);
        a softmax over them gives scores comparable to ``pred_score``.
    """
    names = _check_names(names)
    if text_feats is None:
        text_feats = encode_classnames(model, names)
    if text_feats.shape[0] != len(names):
        raise ValueError(f'text_feats has {text_feats.shape[0]} rows for '
                         f'{len(names)} class names')
    head = model.head
    with torch.no_grad():
        feats = model.extract_feat(inputs)
        global_feats, patch_feats = (feats[0], feats[1] if len(feats) > 1
                                     else None)
        scores = cgla_scores(global_feats, text_feats.to(global_feats),
                             patch_feats, head.topk_patches,
                             head.local_weight)
    return head.logit_scale * scores
