"""CGLA heatmaps: which patches a class text picks, drawn over the face.

CGLA (cross-modal global-local alignment) scores every patch token
against every class text, ``s^l_{i,c} = cos(z^l_i, theta(t_c))`` (Eq. 8),
and averages the ``k`` best patches of each class (Eq. 9).
:func:`cgla_patch_maps` returns these similarities on the patch grid
together with the top-k mask for one class; :func:`draw_cgla_heatmap`
draws them over the image crop the model sees
(colour: patch-text similarity, min-max scaled per image, with a colour
bar giving the cosine values; white boxes: the class's top-k patches), adds
a title and a caption that explains ``g`` (global term: CLS-text cosine)
and ``l`` (local term: mean top-k patch-text cosine) of Eq. 10, and writes
a PNG. ``tools/infer.py --heatmap-dir``, :meth:`FERPipeline.heatmap` and
the pictures of the docs all use this one drawing.
"""
from typing import Dict, Optional, Sequence, Union

import cv2
import mmcv
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..apis.inference import prepare_images
from ..apis.open_vocab import encode_classnames
from ..models.heads.cgla_scores import cgla_scores
from .legend import add_legend

ImageInput = Union[str, np.ndarray]


def _class_index(classes: Sequence[str], name: str) -> int:
    lookup = {c.lower(): i for i, c in enumerate(classes)}
    key = name.strip().lower() if isinstance(name, str) else None
    if key not in lookup:
        raise ValueError(f'class {name!r} is not one of the model classes '
                         f'{tuple(classes)}')
    return lookup[key]


def cgla_patch_maps(model: nn.Module,
                    image: ImageInput,
                    class_name: Optional[str] = None,
                    classnames: Optional[Sequence[str]] = None,
                    text_feats: Optional[torch.Tensor] = None
                    ) -> Dict[str, object]:
    """Patch-text similarities and top-k patches of one class for an image.

    Args:
        model (nn.Module): An :class:`MPAFERClassifier` in eval mode, from
            :func:`~mpa_fer_plugin.apis.init_mpa_model` (its config gives
            the test pipeline).
        image (str | np.ndarray): Image path or BGR array.
        class_name (str, optional): The class to show (case-insensitive);
            None shows the predicted class. Defaults to None.
        classnames (Sequence[str], optional): Score against these names
            with the learned context instead of the training classes
            (experimental, see :mod:`mpa_fer_plugin.apis.open_vocab`).
            Defaults to None.
        text_feats (Tensor, optional): Precomputed features of
            ``classnames`` (:func:`~mpa_fer_plugin.apis.encode_classnames`),
            to encode them once for many images. Defaults to None.

    Returns:
        dict: ``similarity`` (float32 ``[gh, gw]``, Eq. 8 for the class),
        ``topk_mask`` (bool ``[gh, gw]``, the class's top-k patches),
        ``class_name``, ``class_index``, ``classes``, ``score`` (softmax
        probability of the class), ``global_sim`` and ``local_sim`` (the
        two terms of Eq. 10) and ``crop`` (the RGB ``uint8`` image the
        model sees), ``topk`` (k) and ``local_weight`` (w of Eq. 10).
    """
    head, backbone = model.head, model.backbone
    if classnames is not None:
        classes = tuple(classnames)
        text = encode_classnames(model, classes) if text_feats is None \
            else text_feats
        if text.shape[0] != len(classes):
            raise ValueError(f'text_feats has {text.shape[0]} rows for '
                             f'{len(classes)} class names')
    elif text_feats is not None:
        raise ValueError('text_feats needs the classnames it encodes')
    else:
        classes = tuple(head.classnames)
        with torch.no_grad():
            text = head.text_features()
    inputs, crops = prepare_images(model, [image])
    saved = backbone.out_patches
    backbone.out_patches = True  # heatmaps need patches even without CGLA
    try:
        with torch.no_grad():
            global_feats, patch_feats = backbone(inputs)[:2]
    finally:
        backbone.out_patches = saved
    text = text.to(global_feats)
    with torch.no_grad():
        logits = head.logit_scale * cgla_scores(
            global_feats, text, patch_feats, head.topk_patches,
            head.local_weight)
    probs = logits.softmax(dim=-1)[0]
    idx = int(probs.argmax()) if class_name is None else \
        _class_index(classes, class_name)
    t = F.normalize(text[idx], dim=-1)
    sims = F.normalize(patch_feats[0], dim=-1) @ t
    k = min(head.topk_patches, sims.numel())
    top = sims.topk(k).indices
    gh, gw = backbone.grid_size
    mask = torch.zeros_like(sims, dtype=torch.bool)
    mask[top] = True
    return dict(
        similarity=sims.reshape(gh, gw).cpu().numpy().astype(np.float32),
        topk_mask=mask.reshape(gh, gw).cpu().numpy(),
        class_name=classes[idx],
        class_index=idx,
        classes=classes,
        score=float(probs[idx]),
        global_sim=float(F.normalize(global_feats[0], dim=-1) @ t),
        local_sim=float(sims[top].mean()),
        topk=int(k),
        local_weight=float(head.local_weight),
        crop=crops[0])


def cgla_heatmap(model: nn.Module,
                 image: ImageInput,
                 class_name: Optional[str] = None) -> np.ndarray:
    """Patch-text similarity map of a class (CGLA Eq. 8) for an image.

    Args:
        model (nn.Module): An :class:`MPAFERClassifier` (see
            :func:`cgla_patch_maps`).
        image (str | np.ndarray): Image path or BGR array.
        class_name (str, optional): The class; None: the predicted one.
            Defaults to None.

    Returns:
        np.ndarray: float32 ``[gh, gw]`` cosine similarities on the patch
        grid (row-major, as the patches tile the model's input crop).
    """
    return cgla_patch_maps(model, image, class_name)['similarity']


def render_cgla_heatmap(maps: Dict[str, object],
                        display_size: int = 256,
                        alpha: float = 0.5,
                        legend: bool = True) -> np.ndarray:
    """Draw the output of :func:`cgla_patch_maps` over its image crop.

    Args:
        maps (dict): The output of :func:`cgla_patch_maps`.
        display_size (int): Length of the longer side of the heatmap, in
            pixels. Defaults to 256.
        alpha (float): Opacity of the colour map. Defaults to 0.5.
        legend (bool): Add a title (class, probability, g, l), a colour
            bar with the cosine values and a caption explaining the
            picture; False returns the bare heatmap with a one-line
            banner. Defaults to True.

    Returns:
        np.ndarray: RGB ``uint8`` image. Without legend its longer side is
        ``display_size``; with it, the title, colour bar and caption are
        added around the ``display_size`` heatmap.
    """
    if isinstance(display_size, bool) or not isinstance(
            display_size, int) or display_size < 16:
        raise ValueError(f'display_size={display_size!r} must be an int '
                         '>= 16')
    if not 0 <= alpha <= 1:
        raise ValueError(f'alpha={alpha!r} must be in [0, 1]')
    crop = maps['crop']
    h, w = crop.shape[:2]
    scale = display_size / max(h, w)
    out_w, out_h = max(1, round(w * scale)), max(1, round(h * scale))
    base = cv2.resize(crop, (out_w, out_h), interpolation=cv2.INTER_CUBIC)
    sim = maps['similarity']
    lo, hi = float(sim.min()), float(sim.max())
    norm = (sim - lo) / (hi - lo) if hi > lo else np.zeros_like(sim)
    heat = cv2.resize(norm.astype(np.float32), (out_w, out_h),
                      interpolation=cv2.INTER_LINEAR)
    color = cv2.applyColorMap((heat * 255).astype(np.uint8),
                              cv2.COLORMAP_JET)[..., ::-1]
    out = np.clip(base * (1 - alpha) + color * alpha, 0, 255).astype(
        np.uint8)
    gh, gw = sim.shape
    for r, c in zip(*np.nonzero(maps['topk_mask'])):
        p0 = (round(c * out_w / gw), round(r * out_h / gh))
        p1 = (round((c + 1) * out_w / gw) - 1,
              round((r + 1) * out_h / gh) - 1)
        cv2.rectangle(out, p0, p1, (255, 255, 255), 1)
    name, g, loc = maps['class_name'], maps['global_sim'], maps['local_sim']
    if legend:
        k = maps.get('topk', int(maps['topk_mask'].sum()))
        weight = maps.get('local_weight', 1.0)
        title = [f'CGLA heatmap: {name}',
                 f'p = {maps["score"]:.2f}   g = {g:.2f}   l = {loc:.2f}']
        caption = [
            f'colour: cosine of each patch with the text of {name} (Eq. 8), '
            f'min-max scaled ({lo:.2f} to {hi:.2f}, bar).',
            f'white boxes: its top-{k} patches (Eq. 9).',
            'g: global term, cosine of the image (CLS) feature with the '
            'text; l: local term, mean cosine of the boxed patches; class '
            f'score = g + {weight:g} l (Eq. 10), p = softmax probability.'
        ]
        return add_legend(out, title, caption, bar=(lo, hi, 'cosine'))
    label = f'{name} p={maps["score"]:.2f} g={g:.2f} l={loc:.2f}'
    font, fscale = cv2.FONT_HERSHEY_SIMPLEX, max(0.3, out_w / 640)
    (tw, th), base_line = cv2.getTextSize(label, font, fscale, 1)
    cv2.rectangle(out, (0, 0), (min(out_w, tw + 4), th + base_line + 4),
                  (0, 0, 0), -1)
    cv2.putText(out, label, (2, th + 2), font, fscale, (255, 255, 255), 1,
                cv2.LINE_AA)
    return out


def draw_cgla_heatmap(model: nn.Module,
                      image: ImageInput,
                      out_file: str,
                      class_name: Optional[str] = None,
                      classnames: Optional[Sequence[str]] = None,
                      text_feats: Optional[torch.Tensor] = None,
                      display_size: int = 256,
                      legend: bool = True) -> np.ndarray:
    """Compute a CGLA heatmap for an image and write it as a PNG.

    Args:
        model (nn.Module): An :class:`MPAFERClassifier` (see
            :func:`cgla_patch_maps`).
        image (str | np.ndarray): Image path or BGR array.
        out_file (str): The PNG to write (folders are created).
        class_name (str, optional): The class; None: the predicted one.
            Defaults to None.
        classnames (Sequence[str], optional): Open-vocabulary class names
            (experimental). Defaults to None.
        text_feats (Tensor, optional): Precomputed features of
            ``classnames``. Defaults to None.
        display_size (int): Longer side of the heatmap in pixels.
            Defaults to 256.
        legend (bool): Add title, colour bar and caption (see
            :func:`render_cgla_heatmap`). Defaults to True.

    Returns:
        np.ndarray: The drawn RGB image.
    """
    maps = cgla_patch_maps(model, image, class_name, classnames, text_feats)
    drawn = render_cgla_heatmap(maps, display_size, legend=legend)
    if not mmcv.imwrite(drawn[..., ::-1], out_file):
        raise OSError(f'could not write the heatmap to {out_file}')
    return drawn
