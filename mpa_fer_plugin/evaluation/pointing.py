"""Pointing measure of CGLA: do a class's top-k patches lie where it moves?

CGLA (docs/method.md) lets each class text pick its ``k`` most similar patch
tokens, ``TopK_c`` of ``s^l_{i,c} = cos(z^l_i, theta(t_c))`` (Eqs. 8-9).
The claim behind it is that these patches are the expression-relevant facial
regions. The pointing measure tests it on images with known region masks:

* for each image, take the class the model predicts (or the label) and its
  ``k`` patches by patch-text similarity -- the same similarity for every
  model, so zero-shot CLIP and IVLP without the local branch are measured
  the same way as MPA-FER;
* **hit rate**: the fraction of those patches inside the regions that the
  class's expression moves (``moved_regions``, e.g. brows, eyes and mouth
  for Surprise); a patch is inside when at least ``min_overlap`` of its
  area lies in their union;
* **chance**: the fraction of all patches of that image that are inside
  those regions -- the hit rate of ``k`` patches drawn at random.

Images whose class moves no region (e.g. Neutral) have no target and are
left out. Masks are given per image at the model's input crop
(:func:`pointing_scores`) or at the image size and sent through the model's
test pipeline (:func:`evaluate_pointing`), so resizing and cropping move
them exactly as they move the image.
"""
import math
import os.path as osp
from typing import Dict, List, Mapping, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ArrayLike = Union[np.ndarray, torch.Tensor]


def masks_from_bits(bits: ArrayLike,
                    region_names: Sequence[str]) -> torch.Tensor:
    """Split bit masks into one boolean mask per region.

    Args:
        bits (ndarray | Tensor): ``[B, H, W]`` (or ``[H, W]``) integers where
            bit ``i`` marks ``region_names[i]`` (the format of the demo
            world's ``Masks/aligned/*_regions.png``).
        region_names (Sequence[str]): The region of each bit.

    Returns:
        Tensor: bool ``[B, R, H, W]``.
    """
    bits = torch.as_tensor(np.asarray(bits)).long()
    if bits.dim() == 2:
        bits = bits.unsqueeze(0)
    if bits.dim() != 3:
        raise ValueError(f'bit masks must be [B, H, W], got '
                         f'{tuple(bits.shape)}')
    return torch.stack([(bits >> i) & 1 == 1
                        for i in range(len(region_names))], dim=1)


def patch_region_fractions(masks: torch.Tensor,
                           grid: Sequence[int]) -> torch.Tensor:
    """Area fraction of every patch that lies in every region.

    Args:
        masks (Tensor): bool ``[B, R, H, W]`` at the model's input crop.
        grid (Sequence[int]): Patch grid ``(gh, gw)``.

    Returns:
        Tensor: float ``[B, R, gh * gw]`` in ``[0, 1]``, patches row-major
        as the tower orders its patch tokens.
    """
    if masks.dim() != 4:
        raise ValueError(f'masks must be [B, R, H, W], got '
                         f'{tuple(masks.shape)}')
    frac = F.adaptive_avg_pool2d(masks.float(), tuple(grid))
    return frac.flatten(2)


def _region_targets(classes: Sequence[str], region_names: Sequence[str],
                    moved_regions: Mapping[str, Sequence[str]]
                    ) -> torch.Tensor:
    """bool ``[C, R]``: the regions each class moves."""
    lookup = {k.strip().lower(): v for k, v in moved_regions.items()}
    missing = [c for c in classes if c.strip().lower() not in lookup]
    if missing:
        raise ValueError(f'moved_regions has no entry for classes {missing}'
                         f' (give an empty list for a class that moves no '
                         'region)')
    index = {r: i for i, r in enumerate(region_names)}
    out = torch.zeros(len(classes), len(region_names), dtype=torch.bool)
    for c, name in enumerate(classes):
        for region in lookup[name.strip().lower()]:
            if region not in index:
                raise ValueError(f'class {name!r} moves region {region!r}, '
                                 f'which is not one of {tuple(region_names)}')
            out[c, index[region]] = True
    return out


def pointing_scores(model: nn.Module,
                    inputs: torch.Tensor,
                    masks: torch.Tensor,
                    region_names: Sequence[str],
                    moved_regions: Mapping[str, Sequence[str]],
                    topk: Optional[int] = None,
                    labels: Optional[torch.Tensor] = None,
                    min_overlap: float = 0.5) -> Dict[str, torch.Tensor]:
    """Pointing hit rate and chance for a batch of images.

    Args:
        model (nn.Module): An :class:`MPAFERClassifier` (any setting:
            zero-shot, CoOp, IVLP, MPA-FER), put in eval mode here.
        inputs (Tensor): Normalised images ``[B, 3, H, W]`` (after the data
            preprocessor).
        masks (Tensor): bool ``[B, R, H', W']`` region masks covering the
            same field of view as ``inputs`` (any resolution; usually
            ``H' = H``).
        region_names (Sequence[str]): Name of each of the ``R`` masks.
        moved_regions (Mapping[str, Sequence[str]]): Class name -> regions
            its expression moves (case-insensitive class names; every model
            class needs an entry, possibly empty).
        topk (int, optional): Patches per image; None uses the head's
            ``topk_patches``. Defaults to None.
        labels (Tensor, optional): Measure the labelled class instead of
            the predicted one. Defaults to None.
        min_overlap (float): Area fraction above which a patch counts as
            inside (of the union of the moved regions). Defaults to 0.5.

    Returns:
        dict[str, Tensor]: Per image ``[B]``: ``pred`` (predicted class),
        ``target`` (the class measured), ``hit`` (fraction of its top-k
        patches inside its moved regions), ``chance`` (fraction of all
        patches inside them), ``valid`` (the class moves some region and the
        image has patches in it); and ``topk_idx`` ``[B, k]``.
    """
    head, backbone = model.head, model.backbone
    if not 0 < min_overlap <= 1:
        raise ValueError(f'min_overlap={min_overlap!r} must be in (0, 1]')
    if masks.shape[0] != inputs.shape[0] or masks.shape[1] != len(
            region_names):
        raise ValueError(
            f'masks {tuple(masks.shape)} do not match {inputs.shape[0]} '
            f'images and {len(region_names)} regions {tuple(region_names)}')
    num_patches = backbone.grid_size[0] * backbone.grid_size[1]
    k = head.topk_patches if topk is None else topk
    if isinstance(k, bool) or not isinstance(k, int) or \
            not 1 <= k <= num_patches:
        raise ValueError(f'topk={k!r} must be an int in [1, {num_patches}]')
    targets = _region_targets(head.classnames, region_names, moved_regions)
    model.eval()
    saved = backbone.out_patches
    backbone.out_patches = True  # every model is measured on its patches
    try:
        with torch.no_grad():
            global_feats, patch_feats = backbone(inputs)[:2]
            text = head.text_features().to(global_feats)
            logits = head._logits((global_feats, patch_feats), text)
    finally:
        backbone.out_patches = saved
    pred = logits.argmax(dim=-1).cpu()
    target = pred if labels is None else torch.as_tensor(labels).view(
        -1).long().cpu()
    t = F.normalize(text[target.to(text.device)], dim=-1)
    sims = torch.einsum('bnd,bd->bn', F.normalize(patch_feats, dim=-1), t)
    top = sims.topk(k, dim=-1).indices.cpu()
    wanted = targets[target]  # [B, R]
    union = (masks.cpu().bool() & wanted[:, :, None, None]).any(
        dim=1, keepdim=True)  # pixels in any of the class's regions
    inside = patch_region_fractions(union, backbone.grid_size)[:, 0] >= \
        min_overlap  # [B, N]
    hit = inside.gather(1, top).float().mean(dim=1)
    chance = inside.float().mean(dim=1)
    valid = wanted.any(dim=1) & inside.any(dim=1)
    return dict(pred=pred, target=target, hit=hit, chance=chance,
                valid=valid, topk_idx=top)


def summarize_pointing(scores: Mapping[str, torch.Tensor],
                       classes: Optional[Sequence[str]] = None
                       ) -> Dict[str, object]:
    """Mean hit rate against chance, with a 95 % interval of the gap.

    Args:
        scores (Mapping[str, Tensor]): Output of :func:`pointing_scores`
            (or several, concatenated per key).
        classes (Sequence[str], optional): Class names, for the per-class
            breakdown. Defaults to None (class indices).

    Returns:
        dict: ``num_images`` (valid ones), ``hit_rate``, ``chance``,
        ``gap`` (mean paired ``hit - chance``) and ``gap_ci95`` (normal
        approximation, ``1.96 * sd / sqrt(n)``), and ``per_class``
        ``{name: {num_images, hit_rate, chance}}``.
    """
    valid = scores['valid'].bool()
    hit, chance = scores['hit'][valid].double(), scores['chance'][
        valid].double()
    n = int(valid.sum())
    out: Dict[str, object] = dict(num_images=n)
    if n == 0:
        out.update(hit_rate=math.nan, chance=math.nan, gap=math.nan,
                   gap_ci95=math.nan, per_class={})
        return out
    gap = hit - chance
    half = 1.96 * float(gap.std(unbiased=True)) / math.sqrt(n) if n > 1 \
        else math.nan
    out.update(hit_rate=float(hit.mean()), chance=float(chance.mean()),
               gap=float(gap.mean()), gap_ci95=half)
    per_class = {}
    target = scores['target'][valid]
    for c in sorted(set(target.tolist())):
        sel = target == c
        name = classes[c] if classes is not None else str(c)
        per_class[name] = dict(num_images=int(sel.sum()),
                               hit_rate=float(hit[sel].mean()),
                               chance=float(chance[sel].mean()))
    out['per_class'] = per_class
    return out


def _mask_pipeline(model: nn.Module):
    from mmengine.dataset import Compose
    from mmpretrain.registry import TRANSFORMS

    from ..apis.inference import _default_steps, build_test_pipeline
    cfg = getattr(model, '_config', None)
    if cfg is not None and 'test_dataloader' in cfg:
        return build_test_pipeline(cfg)
    return Compose([TRANSFORMS.build(s) for s in _default_steps(model)])


def masks_to_input(model: nn.Module, masks: torch.Tensor,
                   pipeline=None) -> torch.Tensor:
    """Send image-size region masks through the model's test pipeline.

    Each region mask goes through the same resize/crop as the images (as a
    0/255 three-channel image) and is thresholded at half, so it stays
    aligned with the crop the model sees.

    Args:
        model (nn.Module): The model (its config gives the test pipeline).
        masks (Tensor): bool ``[R, H, W]`` of one image at its file size.
        pipeline (Compose, optional): Override the pipeline. Defaults to
            None.

    Returns:
        Tensor: bool ``[R, H', W']`` at the model's input crop.
    """
    pipeline = pipeline or _mask_pipeline(model)
    out = []
    for mask in masks:
        img = np.repeat((mask.numpy().astype(np.uint8) * 255)[..., None], 3,
                        axis=2)
        item = pipeline(dict(img=img, img_shape=img.shape[:2],
                             ori_shape=img.shape[:2]))
        out.append(item['inputs'][0] >= 128)
    return torch.stack(out)


def evaluate_pointing(model: nn.Module,
                      images: Sequence[str],
                      bit_masks: Sequence[ArrayLike],
                      region_names: Sequence[str],
                      moved_regions: Mapping[str, Sequence[str]],
                      labels: Optional[Sequence[int]] = None,
                      topk: Optional[int] = None,
                      batch_size: int = 32,
                      min_overlap: float = 0.5) -> Dict[str, object]:
    """The pointing measure over a list of images with bit masks.

    Args:
        model (nn.Module): An :class:`MPAFERClassifier` from
            :func:`~mpa_fer_plugin.apis.init_mpa_model`.
        images (Sequence[str]): Image paths (or BGR arrays).
        bit_masks (Sequence[ndarray]): One ``[H, W]`` bit mask per image at
            the image's size (see :func:`masks_from_bits`).
        region_names (Sequence[str]): The region of each bit.
        moved_regions (Mapping[str, Sequence[str]]): Class -> regions.
        labels (Sequence[int], optional): Measure the labelled class
            instead of the predicted one. Defaults to None.
        topk (int, optional): Patches per image (None: the head's k).
        batch_size (int): Images per forward pass. Defaults to 32.
        min_overlap (float): See :func:`pointing_scores`. Defaults to 0.5.

    Returns:
        dict: :func:`summarize_pointing` plus ``scores`` (the per-image
        tensors).
    """
    from ..apis.inference import prepare_images
    if len(images) != len(bit_masks):
        raise ValueError(f'{len(images)} images but {len(bit_masks)} masks')
    if labels is not None and len(labels) != len(images):
        raise ValueError(f'{len(images)} images but {len(labels)} labels')
    pipeline = _mask_pipeline(model)
    parts: List[Dict[str, torch.Tensor]] = []
    for start in range(0, len(images), batch_size):
        sl = slice(start, start + batch_size)
        inputs, _ = prepare_images(model, list(images[sl]))
        masks = torch.stack([
            masks_to_input(model, masks_from_bits(m, region_names)[0],
                           pipeline) for m in bit_masks[sl]
        ])
        lab = None if labels is None else torch.as_tensor(list(labels[sl]))
        parts.append(pointing_scores(model, inputs, masks, region_names,
                                     moved_regions, topk, lab, min_overlap))
    scores = {key: torch.cat([p[key] for p in parts]) for key in parts[0]}
    out = summarize_pointing(scores, model.head.classnames)
    out['scores'] = scores
    return out


def evaluate_pointing_on_synthetic(model: nn.Module,
                                   data_root: str,
                                   split: str = 'test',
                                   use_labels: bool = False,
                                   **kwargs) -> Dict[str, object]:
    """:func:`evaluate_pointing` on a demo world written by the generator.

    Reads the RAF-DB-layout label file, the images and the region masks
    (``Masks/aligned/{stem}_regions.png``) of
    :func:`mpa_fer_plugin.datasets.synthetic.generate_synthetic_fer`, with
    its :data:`REGION_NAMES` and :data:`MOVED_REGIONS`.

    Args:
        model (nn.Module): An :class:`MPAFERClassifier` whose classes are
            the world's (FER7 or FER8, canonical order).
        data_root (str): The world's folder.
        split (str): ``'train'`` or ``'test'``. Defaults to ``'test'``.
        use_labels (bool): Measure the labelled class instead of the
            predicted one. Defaults to False.
        **kwargs: ``topk``, ``batch_size``, ``min_overlap``.

    Returns:
        dict: See :func:`evaluate_pointing`.
    """
    from mmpretrain.registry import DATASETS

    from ..datasets.synthetic import (
        MOVED_REGIONS,
        REGION_NAMES,
        load_region_mask,
    )
    dataset = DATASETS.build(dict(type='RAFDB', data_root=data_root,
                                  split=split, pipeline=[],
                                  num_classes=len(model.head.classnames)))
    dataset.full_init()
    paths, labels, masks = [], [], []
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        path = info['img_path']
        stem = osp.basename(path).rsplit('_aligned', 1)[0]
        paths.append(path)
        labels.append(int(info['gt_label']))
        masks.append(load_region_mask(data_root, stem))
    if list(dataset.metainfo['classes']) != list(model.head.classnames):
        raise ValueError(f'the world classes {dataset.metainfo["classes"]} '
                         f'differ from the model classes '
                         f'{model.head.classnames}')
    return evaluate_pointing(model, paths, masks, REGION_NAMES,
                             MOVED_REGIONS,
                             labels=labels if use_labels else None, **kwargs)
