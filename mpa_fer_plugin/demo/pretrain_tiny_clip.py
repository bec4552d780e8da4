"""Pretraining of the tiny demo CLIP, with a patch-level objective.

The tiny CLIP (:data:`TINY_DEMO_CLIP`) is trained from scratch on faces of
the demo world (drawn from a random stream disjoint from every dataset
split that ``generate_synthetic_fer`` writes) and captions of
:mod:`.captions` that describe the faces' action units and rarely name the
expression. The loss has three terms, each open_clip's contrastive
``ClipLoss`` over the batch:

* **global**: class token vs. the caption of the whole face (CLIP);
* **region**: the patch tokens inside one region's mask (mean weighted by
  the patch's mask coverage; brows, eyes, nose, mouth or cheeks) vs. the
  caption of that region's cue -- so patch tokens align with text where
  the cue is drawn;
* **top-k**: the mean over the k best-matching patch tokens of the cosine
  to the caption (the CGLA local score, Eq. 9) vs. the whole caption --
  so the local branch scores text as the global one does.

Patch tokens are mapped to the joint space as ``MPAPromptedViT`` does
(``ln_post`` then ``proj``). Everything is seeded; equal arguments give
identical weights on one machine (same torch build and thread count).

The same command writes the demo world's hard-prompt descriptions
(:func:`.captions.write_demo_descriptions`) next to the weights. Rebuild
the committed assets with::

    python tools/misc/pretrain_tiny_clip.py configs/demo_assets/tiny_clip
"""
import hashlib
import json
import math
import os
import os.path as osp
import time
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from .captions import make_caption, region_caption, write_demo_descriptions

#: The demo architecture: a 64-px ViT with 8-px patches (64 patches) and a
#: width-32 text tower (2.0 M parameters; 3.8 MiB in fp16).
TINY_DEMO_CLIP = {
    'embed_dim': 64,
    'quick_gelu': True,
    'vision_cfg': {'image_size': 64, 'layers': 3, 'width': 96,
                   'patch_size': 8, 'head_width': 32},
    'text_cfg': {'context_length': 77, 'vocab_size': 49408, 'width': 32,
                 'heads': 2, 'layers': 3},
}
#: Stream ids: ``generate_synthetic_fer`` seeds image ``i`` of a split with
#: ``(seed, 0 | 1, 0, i)``; the pretraining pool uses ``(seed,
#: PRETRAIN_STREAM, 0, i)`` and the held-out check ``HELDOUT_STREAM``.
PRETRAIN_STREAM = 1000
HELDOUT_STREAM = 1001
#: CLIP normalisation (RGB, 0-1 scale).
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def render_faces(num: int, seed: int, stream: int, classes: Sequence[str],
                 size: int = 64) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw ``num`` balanced faces (RGB, after a JPEG round trip).

    Returns:
        tuple: images ``[num, size, size, 3]`` uint8, region masks
        ``[num, size, size]`` uint8 (bit i = ``REGION_NAMES[i]``) and
        labels ``[num]`` indexing ``classes``.
    """
    import cv2

    from mpa_fer_plugin.datasets.synthetic import render_face_and_regions
    labels = np.random.default_rng([seed, stream, 1]).permutation(
        np.arange(num) % len(classes))
    images = np.empty((num, size, size, 3), np.uint8)
    masks = np.empty((num, size, size), np.uint8)
    params = [cv2.IMWRITE_JPEG_QUALITY, 95]
    for i, label in enumerate(labels):
        rng = np.random.default_rng([seed, stream, 0, i])
        img, masks[i] = render_face_and_regions(classes[label], rng, size)
        img = cv2.imdecode(cv2.imencode('.jpg', img, params)[1],
                           cv2.IMREAD_COLOR)
        images[i] = img[..., ::-1]
    return images, masks, labels


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """Normalise RGB uint8 images ``[B, H, W, 3]`` to ``[B, 3, H, W]``."""
    mean = torch.tensor(CLIP_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(CLIP_STD).view(1, 3, 1, 1)
    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2)
    return (x.float() / 255.0 - mean) / std


def patch_coverage(masks: np.ndarray, bits: np.ndarray,
                   patch: int) -> torch.Tensor:
    """Fraction of each patch covered by the selected region bits.

    Args:
        masks (np.ndarray): Region masks ``[B, H, W]`` uint8.
        bits (np.ndarray): One region bit value per image ``[B]``.
        patch (int): Patch side in pixels.

    Returns:
        Tensor: ``[B, (H / patch) * (W / patch)]`` in row-major patch
        order (as the ViT's tokens).
    """
    sel = (masks & bits[:, None, None].astype(np.uint8)) > 0
    b, h, w = sel.shape
    cov = sel.reshape(b, h // patch, patch, w // patch, patch).mean((2, 4))
    return torch.from_numpy(cov.reshape(b, -1).astype(np.float32))


def encode_text(model: torch.nn.Module, ids: torch.Tensor) -> torch.Tensor:
    """``model.encode_text`` run only up to the longest end-of-text token.

    Under CLIP's causal mask no position sees later ones, so cutting the
    sequence after the last end-of-text token (the largest id, as for
    open_clip's ``argmax`` pooling) gives the same features.
    """
    eot = ids.argmax(dim=-1)
    length = int(eot.max()) + 1
    x = model.token_embedding(ids[:, :length])
    x = x + model.positional_embedding[:length]
    x = model.transformer(x, attn_mask=model.attn_mask[:length, :length])
    x = model.ln_final(x)
    return x[torch.arange(x.shape[0]), eot] @ model.text_projection


def encode_image(model: torch.nn.Module, images: torch.Tensor
                 ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Global features ``[B, D]`` and patch features ``[B, N, D]``
    (``ln_post`` then ``proj``, as ``MPAPromptedViT(patch_proj=
    'ln_post_proj')``)."""
    visual = model.visual
    visual.output_tokens = True
    try:
        pooled, tokens = visual(images)
    finally:
        visual.output_tokens = False
    return pooled, tokens @ visual.proj


def topk_scores(patches: torch.Tensor, text: torch.Tensor,
                topk: int) -> torch.Tensor:
    """CGLA local scores (Eq. 9): mean of the top-k patch cosines.

    Args:
        patches (Tensor): ``[B, N, D]``. text (Tensor): ``[T, D]``.

    Returns:
        Tensor: ``[B, T]``.
    """
    sims = torch.einsum('bnd,td->btn', F.normalize(patches, dim=-1),
                        F.normalize(text, dim=-1))
    return sims.topk(topk, dim=-1).values.mean(-1)


@torch.no_grad()
def zero_shot_accuracy(model: torch.nn.Module, images: torch.Tensor,
                       labels: np.ndarray, classes: Sequence[str],
                       template: str = 'a photo of a {}.',
                       local_weight: float = 0.0, topk: int = 8) -> float:
    """Top-1 accuracy (%) of zero-shot CGLA scores (Eq. 10) with
    ``template``; ``local_weight=0`` is plain CLIP zero-shot."""
    import open_clip

    from mpa_fer_plugin.models.heads.cgla_scores import cgla_scores
    text = encode_text(model, open_clip.SimpleTokenizer()(
        [template.format(c.lower()) for c in classes]))
    preds = []
    for i in range(0, len(images), 256):
        g, p = encode_image(model, images[i:i + 256])
        preds.append(cgla_scores(g, text, p, topk=topk,
                                 local_weight=local_weight).argmax(-1))
    return float((torch.cat(preds).numpy() == labels).mean() * 100)


def _lr_at(step: int, steps: int, lr: float, warmup: int) -> float:
    if step < warmup:
        return lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return lr * 0.5 * (1 + math.cos(math.pi * progress))


def _zero_shot_record(model, held, held_labels, classes, topk) -> Dict:
    return dict(global_only=round(zero_shot_accuracy(
        model, held, held_labels, classes), 2), with_local=round(
        zero_shot_accuracy(model, held, held_labels, classes,
                           local_weight=1.0, topk=topk), 2))


def pretrain_tiny_clip(out_dir: str, seed: int = 0, steps: int = 700,
                       batch_size: int = 64, num_images: int = 3000,
                       num_heldout: int = 700, name_prob: float = 0.3,
                       noun_prob: float = 0.3, region_weight: float = 1.0,
                       topk_weight: float = 1.0, topk: int = 8,
                       lr: float = 1e-3, weight_decay: float = 0.05,
                       log_interval: int = 50,
                       model_cfg: Optional[dict] = None) -> dict:
    """Pretrain the tiny CLIP and write it to ``out_dir`` (fp16).

    Args:
        out_dir (str): Output folder (created if needed).
        seed (int): Seed of faces, captions, initialisation and batches.
        steps (int): Optimiser steps. Defaults to ``800``.
        batch_size (int): Image-caption pairs per step. Defaults to ``64``.
        num_images (int): Faces in the pool (captions are redrawn at every
            use; faces are flipped at random). Defaults to ``4000``.
        num_heldout (int): Held-out faces for the zero-shot check.
        name_prob (float): Fraction of captions naming the expression.
            Defaults to ``0.1``.
        noun_prob (float): Fraction of names that are the class noun.
        region_weight (float): Weight of the region term. Defaults to 1.
        topk_weight (float): Weight of the top-k term. Defaults to 1.
        topk (int): ``k`` of the top-k term and of the local zero-shot
            check (the demo config's ``topk_patches``). Defaults to 8.
        lr (float): Peak AdamW learning rate (5 % linear warm-up, cosine).
        weight_decay (float): AdamW weight decay of the matrices.
        log_interval (int): Steps between progress lines.
        model_cfg (dict, optional): open_clip ``CLIP`` keyword arguments;
            None uses :data:`TINY_DEMO_CLIP`.

    Returns:
        dict: The provenance record also written to ``provenance.json``.
    """
    import open_clip
    from mmengine.logging import print_log

    from mpa_fer_plugin.datasets.categories import FER7_CLASSES
    from mpa_fer_plugin.datasets.synthetic import REGION_NAMES
    if steps < 1 or batch_size < 2 or num_images < batch_size:
        raise ValueError(f'need steps >= 1, batch_size >= 2 and num_images '
                         f'>= batch_size; got {steps}, {batch_size}, '
                         f'{num_images}')
    model_cfg = dict(model_cfg or TINY_DEMO_CLIP)
    size = model_cfg['vision_cfg']['image_size']
    patch = model_cfg['vision_cfg']['patch_size']
    classes = list(FER7_CLASSES)
    bit_of = {n: 1 << i for i, n in enumerate(REGION_NAMES)}
    start = time.time()
    print_log(f'pretrain_tiny_clip: drawing {num_images} + {num_heldout} '
              'faces', logger='current')
    pool, pool_masks, pool_labels = render_faces(
        num_images, seed, PRETRAIN_STREAM, classes, size)
    held, _, held_labels = render_faces(num_heldout, seed, HELDOUT_STREAM,
                                        classes, size)
    held = to_tensor(held)

    torch.manual_seed(seed)
    model = open_clip.model.CLIP(**model_cfg)
    model.train()
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2
             and 'token_embedding' not in n and 'positional' not in n]
    ids = {id(p) for p in decay}
    no_decay = [p for p in model.parameters() if id(p) not in ids]
    optimizer = torch.optim.AdamW(
        [dict(params=decay, weight_decay=weight_decay),
         dict(params=no_decay, weight_decay=0.0)], lr=lr, betas=(0.9, 0.98),
        eps=1e-6)
    loss_fn = open_clip.ClipLoss()
    tokenizer = open_clip.SimpleTokenizer()
    rng = np.random.default_rng([seed, PRETRAIN_STREAM, 2])
    warmup = max(1, steps // 20)
    order, cursor, history = rng.permutation(num_images), 0, []
    zs_before = _zero_shot_record(model.eval(), held, held_labels, classes,
                                  topk)
    model.train()
    for step in range(steps):
        if cursor + batch_size > num_images:
            order, cursor = rng.permutation(num_images), 0
        idx = order[cursor:cursor + batch_size]
        cursor += batch_size
        flip = rng.random(len(idx)) < 0.5
        imgs = np.where(flip[:, None, None, None], pool[idx][:, :, ::-1],
                        pool[idx])
        masks = np.where(flip[:, None, None], pool_masks[idx][:, :, ::-1],
                         pool_masks[idx])
        names = [classes[pool_labels[i]] for i in idx]
        captions = [make_caption(c, rng, name_prob, noun_prob)
                    for c in names]
        regions = [region_caption(c, rng, name_prob, noun_prob)
                   for c in names]
        cov = patch_coverage(masks, np.array([bit_of[r] for r, _ in regions]),
                             patch)
        cov[cov.sum(1) == 0] = 1.0  # region out of frame: all patches
        for group in optimizer.param_groups:
            group['lr'] = _lr_at(step, steps, lr, warmup)
        glob, patches = encode_image(model, to_tensor(imgs))
        text = encode_text(model, tokenizer(captions))
        region_text = encode_text(model, tokenizer([t for _, t in regions]))
        scale = model.logit_scale.exp()
        region_feats = (cov[..., None] * patches).sum(1) / cov.sum(
            1, keepdim=True)
        loss_g = loss_fn(F.normalize(glob, dim=-1),
                         F.normalize(text, dim=-1), scale)
        loss_r = loss_fn(F.normalize(region_feats, dim=-1),
                         F.normalize(region_text, dim=-1), scale)
        local = topk_scores(patches, text, topk) * scale
        target = torch.arange(len(idx))
        loss_k = (F.cross_entropy(local, target) +
                  F.cross_entropy(local.t(), target)) / 2
        loss = loss_g + region_weight * loss_r + topk_weight * loss_k
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        history.append([loss.item(), loss_g.item(), loss_r.item(),
                        loss_k.item()])
        if (step + 1) % log_interval == 0 or step + 1 == steps:
            m = np.mean(history[-log_interval:], axis=0)
            print_log(f'pretrain_tiny_clip: step {step + 1}/{steps} loss '
                      f'{m[0]:.3f} (global {m[1]:.3f}, region {m[2]:.3f}, '
                      f'top-k {m[3]:.3f}; {time.time() - start:.0f} s)',
                      logger='current')

    model.eval()
    os.makedirs(out_dir, exist_ok=True)
    path = osp.join(out_dir, 'tiny_clip.pth')
    state = {k: v.detach().half() if v.is_floating_point() else v
             for k, v in model.state_dict().items()}
    torch.save(state, path)
    reloaded = open_clip.model.CLIP(**model_cfg).eval()
    open_clip.load_checkpoint(reloaded, path, strict=True)
    zs_after = _zero_shot_record(reloaded, held, held_labels, classes, topk)
    with open(path, 'rb') as f:
        sha256 = hashlib.sha256(f.read()).hexdigest()
    with open(osp.join(out_dir, 'open_clip_config.json'), 'w') as f:
        json.dump({'model_cfg': model_cfg, 'preprocess_cfg': {
            'mean': list(CLIP_MEAN), 'std': list(CLIP_STD)}}, f, indent=2)
    final = np.mean(history[-log_interval:], axis=0)
    record = dict(
        command=f'python tools/misc/pretrain_tiny_clip.py {out_dir} --seed '
        f'{seed} --steps {steps} --batch-size {batch_size} --num-images '
        f'{num_images} --name-prob {name_prob} --noun-prob {noun_prob} '
        f'--region-weight {region_weight} --topk-weight {topk_weight} '
        f'--topk {topk} --lr {lr}',
        recipe=dict(seed=seed, steps=steps, batch_size=batch_size,
                    num_images=num_images, name_prob=name_prob,
                    noun_prob=noun_prob, region_weight=region_weight,
                    topk_weight=topk_weight, topk=topk, lr=lr,
                    weight_decay=weight_decay, world='demo world v2 '
                    '(mpa_fer_plugin.datasets.synthetic_faces), stream '
                    f'{PRETRAIN_STREAM}', captions='mpa_fer_plugin.demo.'
                    'captions (action units by region)',
                    loss='ClipLoss(global) + region_weight * ClipLoss('
                    'region-pooled patches, region caption) + topk_weight '
                    '* top-k patch contrastive'),
        final_loss=dict(zip(('total', 'global', 'region', 'topk'),
                            (round(float(v), 4) for v in final))),
        zero_shot_template='a photo of a {}.',
        zero_shot_heldout_before=zs_before,
        zero_shot_heldout=zs_after, num_heldout=num_heldout,
        zero_shot_top1_heldout=zs_after['global_only'],
        file='tiny_clip.pth', dtype='float16', bytes=osp.getsize(path),
        sha256=sha256, torch=torch.__version__,
        open_clip=open_clip.__version__, threads=torch.get_num_threads(),
        seconds=round(time.time() - start, 1))
    record['descriptions'] = [osp.basename(p) for p in
                              write_demo_descriptions(out_dir).values()]
    with open(osp.join(out_dir, 'provenance.json'), 'w') as f:
        json.dump(record, f, indent=2)
    print_log(f'pretrain_tiny_clip: zero-shot top-1 on {num_heldout} '
              f'held-out faces (global / with local branch) '
              f'{zs_before["global_only"]:.1f} / {zs_before["with_local"]:.1f}'
              f'% -> {zs_after["global_only"]:.1f} / '
              f'{zs_after["with_local"]:.1f}% (chance '
              f'{100 / len(classes):.1f}%); wrote {path} in '
              f'{record["seconds"]:.0f} s', logger='current')
    return record
