"""Frozen-CLIP probes of the demo world: how much headroom it leaves.

:func:`probe_world` measures, on a generated world's test split with a
frozen (tiny) CLIP: zero-shot accuracy with the class-name template (global
only and with the CGLA local branch) and the accuracy of the nearest class
prototype (mean training feature, Eq. 6, cosine). These are the world's
difficulty targets: zero-shot 35-55 %, prototypes 55-75 %.
"""
import os.path as osp
from typing import Dict, Tuple

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from .pretrain_tiny_clip import encode_image, to_tensor, zero_shot_accuracy


def load_split(data_root: str, split: str,
               size: int) -> Tuple[torch.Tensor, np.ndarray]:
    """Images (normalised, ``[N, 3, size, size]``) and canonical labels
    of one split of a generated world, read through :class:`~.RAFDB`."""
    from mpa_fer_plugin.datasets import RAFDB
    ds = RAFDB(data_root, split=split)
    imgs = np.empty((len(ds), size, size, 3), np.uint8)
    labels = np.empty(len(ds), np.int64)
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        img = cv2.imread(info['img_path'], cv2.IMREAD_COLOR)[..., ::-1]
        if img.shape[0] != size:
            img = cv2.resize(img, (size, size),
                             interpolation=cv2.INTER_CUBIC)
        imgs[i] = img
        labels[i] = ds.get_cat_ids(i)[0]
    return to_tensor(imgs), labels


@torch.no_grad()
def probe_world(clip_path: str, data_root: str,
                topk: int = 8) -> Dict[str, float]:
    """Zero-shot and nearest-prototype accuracy (%) on the test split.

    Args:
        clip_path (str): A folder with ``tiny_clip.pth`` and
            ``open_clip_config.json`` (as written by the pretraining).
        data_root (str): A generated world.
        topk (int): ``k`` of the local branch. Defaults to 8.

    Returns:
        dict[str, float]: ``zero_shot``, ``zero_shot_local`` and
        ``nearest_prototype``.
    """
    import json

    import open_clip

    from mpa_fer_plugin.datasets.categories import FER7_CLASSES
    with open(osp.join(clip_path, 'open_clip_config.json')) as f:
        cfg = json.load(f)['model_cfg']
    model = open_clip.model.CLIP(**cfg).eval()
    open_clip.load_checkpoint(model, osp.join(clip_path, 'tiny_clip.pth'))
    size = cfg['vision_cfg']['image_size']
    train, y_tr = load_split(data_root, 'train', size)
    test, y_te = load_split(data_root, 'test', size)

    def feats(x):
        return torch.cat([F.normalize(encode_image(model, x[i:i + 256])[0],
                                      dim=-1)
                          for i in range(0, len(x), 256)])

    f_tr, f_te = feats(train), feats(test)
    protos = torch.stack([f_tr[torch.from_numpy(y_tr == c)].mean(0)
                          for c in range(len(FER7_CLASSES))])
    pred = (f_te @ F.normalize(protos, dim=-1).t()).argmax(-1).numpy()
    return dict(
        zero_shot=zero_shot_accuracy(model, test, y_te, FER7_CLASSES),
        zero_shot_local=zero_shot_accuracy(model, test, y_te, FER7_CLASSES,
                                           local_weight=1.0, topk=topk),
        nearest_prototype=float((pred == y_te).mean() * 100))


def pointing_report(runs: Dict[str, Tuple[str, list]], data_root: str,
                    split: str = 'test') -> Dict[str, dict]:
    """The CGLA pointing measure (``mpa_fer_plugin.evaluation.pointing``)
    for several models, averaged over their checkpoints (seeds).

    Args:
        runs (dict): Name -> ``(config, checkpoints)``; a checkpoint ``None``
            evaluates the model as built (zero-shot).
        data_root (str): A generated world (with region masks).
        split (str): The split. Defaults to ``'test'``.

    Returns:
        dict: Name -> ``hit_rate``, ``chance``, ``gap`` (lists over the
        checkpoints, in %) and ``num_images``.
    """
    from mpa_fer_plugin.apis import init_mpa_model
    from mpa_fer_plugin.evaluation.pointing import (
        evaluate_pointing_on_synthetic,
    )
    out = {}
    for name, (config, ckpts) in runs.items():
        rec = dict(hit_rate=[], chance=[], gap=[], num_images=None)
        for ckpt in ckpts:
            model = init_mpa_model(config, ckpt, device='cpu')
            res = evaluate_pointing_on_synthetic(model, data_root, split)
            for key in ('hit_rate', 'chance', 'gap'):
                rec[key].append(float(res[key]) * 100)
            rec['num_images'] = int(res['num_images'])
        out[name] = rec
    return out


#: The demo world's look-alike class pairs (differing by one local cue).
LOOKALIKE_PAIRS = (('Fear', 'Surprise'), ('Anger', 'Disgust'),
                   ('Sadness', 'Neutral'))


def _pair_cosines(feats: torch.Tensor, classnames) -> Dict[str, float]:
    """Cosine between the text features of each look-alike pair."""
    idx = {c: i for i, c in enumerate(classnames)}
    f = F.normalize(feats.float(), dim=-1)
    return {f'{a}/{b}': float(f[idx[a]] @ f[idx[b]])
            for a, b in LOOKALIKE_PAIRS if a in idx and b in idx}


@torch.no_grad()
def teacher_report(runs: Dict[str, Tuple[str, list]], data_root: str,
                   split: str = 'test') -> Dict[str, dict]:
    """How good a teacher the hard prompts are, and where the soft prompts
    went (the premise of the soft-hard alignment L_t, Eq. 4).

    For each model (a config and checkpoints; ``None`` = as built): the
    accuracy (%) of the hard-prompt features used as the classifier on the
    frozen image features (``hard_global``; with the model's CGLA local
    branch: ``hard_local``), of the hard prompts on the model's prompted
    image features (``hard_prompted``), of its own soft prompts on them
    (``soft``), the cosine between the two classes of each
    look-alike pair for the hard and the soft features, and the mean
    cosine between each class's soft and hard feature (``soft_hard``).
    A model without hard prompts (e.g. IVLP) is compared with the hard
    prompts of the run listed before it (its ``hard_*`` are None).

    Args:
        runs (dict): Name -> ``(config, checkpoints)``.
        data_root (str): A generated world.
        split (str): The split. Defaults to ``'test'``.

    Returns:
        dict: Name -> one list over the checkpoints per measure, and
        ``pairs_hard`` / ``pairs_soft`` (dicts of lists).
    """
    from mpa_fer_plugin.apis import init_mpa_model
    from mpa_fer_plugin.models.heads.cgla_scores import cgla_scores
    out = {}
    images = labels = teacher = None
    for name, (config, ckpts) in runs.items():
        rec = dict(hard_global=[], hard_local=[], hard_prompted=[], soft=[],
                   soft_hard=[],
                   pairs_hard={}, pairs_soft={})
        for ckpt in ckpts:
            model = init_mpa_model(config, ckpt, device='cpu').eval()
            head = model.head
            if images is None:
                size = model.backbone.visual.image_size
                images, labels = load_split(data_root, split, int(
                    size[0] if isinstance(size, (tuple, list)) else size))
            y = torch.from_numpy(labels)
            if head.hard_prompts is not None:
                hard, own = head.hard_prompts()[1], True
            elif teacher is not None:
                hard, own = teacher, False  # an earlier run's hard prompts
            else:
                raise ValueError(f'{config} has no hard prompts: list a '
                                 'model with them first')
            teacher = hard
            soft = head.text_features()
            k, w = head.topk_patches, head.local_weight

            def acc(feats, text, weight):
                hits = 0
                for i in range(0, len(images), 256):
                    f = feats(images[i:i + 256])
                    g, p = f[0], (f[1] if len(f) > 1 else None)
                    s = cgla_scores(g, text.to(g.dtype), p, k, weight)
                    hits += int((s.argmax(-1) == y[i:i + 256]).sum())
                return 100.0 * hits / len(images)

            rec['hard_global'].append(
                acc(model.backbone.forward_frozen, hard, 0.0)
                if own else None)
            rec['hard_local'].append(
                acc(model.backbone.forward_frozen, hard, w)
                if own and w else None)
            rec['hard_prompted'].append(acc(model.backbone, hard, w))
            rec['soft'].append(acc(model.backbone, soft, w))
            rec['soft_hard'].append(float(
                (F.normalize(soft, dim=-1) * hard).sum(-1).mean()))
            for key, feats in (('pairs_hard', hard), ('pairs_soft', soft)):
                for pair, cos in _pair_cosines(
                        feats, head.classnames).items():
                    rec[key].setdefault(pair, []).append(cos)
        out[name] = rec
    return out
