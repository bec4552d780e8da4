"""Pretrain the tiny demo CLIP on generated faces and generated captions.

Real CLIP recognises facial expressions zero-shot because its web captions
sometimes name them. This tool gives the tiny demo CLIP
(:data:`make_tiny_clip.TINY_DEMO_CLIP`) the same kind of knowledge: it
draws faces with :func:`mpa_fer_plugin.datasets.synthetic.render_face`
(from a random stream disjoint from every dataset split that
``generate_synthetic_fer`` writes), pairs each face with a caption that
describes some of its facial features (brows, eyes, mouth, wrinkles) and,
for a fraction of the captions only, a name of the expression (sometimes
the wrong one, as in noisy web captions), and trains the whole model with
open_clip's contrastive loss (``open_clip.ClipLoss``). Everything is
seeded, so equal arguments give identical weights on one machine (same
torch build and thread count).

The result is written as an fp16 open_clip state dict plus
``open_clip_config.json`` and ``provenance.json`` (recipe, zero-shot
accuracy, SHA-256), so it loads as ``clip=dict(model_cfg=...,
pretrained=FILE)`` or ``clip=dict(model_name='local-dir:FOLDER')``.

The committed demo weights were made with::

    python tools/misc/pretrain_tiny_clip.py configs/demo_assets/tiny_clip
"""
import argparse
import hashlib
import json
import math
import os
import os.path as osp
import sys
import time
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from make_tiny_clip import TINY_DEMO_CLIP  # noqa: E402

sys.path.pop(0)

#: Stream id of the pretraining faces: ``generate_synthetic_fer`` seeds its
#: images with ``(seed, 0 | 1, 0, index)``, this tool with
#: ``(seed, PRETRAIN_STREAM, index)``, so no pretraining face is a dataset
#: face.
PRETRAIN_STREAM = 1000
#: Stream id of the held-out faces used for the zero-shot check.
HELDOUT_STREAM = 1001

#: Caption phrases per expression: one inner list per drawn feature (see
#: ``_EXPRESSIONS`` in ``mpa_fer_plugin/datasets/synthetic.py``), each
#: with paraphrases. Several expressions share features (raised brows,
#: narrowed eyes, nose-to-mouth folds), as real faces do.
FEATURE_PHRASES: Dict[str, List[List[str]]] = {
    'Anger': [
        ['lowered brows pulled together', 'brows knitted and lowered',
         'a low frowning brow'],
        ['vertical furrows between the brows',
         'two short creases between the brows'],
        ['narrowed eyes', 'a hard narrow stare'],
        ['lips pressed into a thin tight line', 'tightly pressed lips',
         'a flat pressed mouth'],
    ],
    'Disgust': [
        ['a wrinkled nose', 'creases across the bridge of the nose'],
        ['the upper lip raised over the teeth', 'a curled upper lip',
         'an upper lip lifted to bare the teeth'],
        ['deep folds beside the nose', 'folds running from the nose to '
         'the mouth'],
        ['narrowed eyes', 'squinting eyes'],
        ['slightly lowered brows', 'brows pulled down a little'],
    ],
    'Fear': [
        ['raised brows drawn together', 'brows lifted and pulled '
         'together'],
        ['eyes opened wide', 'wide staring eyes'],
        ['lips stretched sideways', 'a tense mouth stretched wide open',
         'a wide stretched open mouth'],
        ['wrinkles across the forehead', 'a wrinkled forehead'],
    ],
    'Sadness': [
        ['inner ends of the brows raised', 'brows slanted upward in the '
         'middle'],
        ['drooping eyelids', 'heavy half closed eyes'],
        ['lip corners pulled down', 'a mouth curving downward',
         'down turned lips'],
        ['a crease below the lower lip', 'a puckered chin'],
    ],
    'Happiness': [
        ['lip corners pulled up into a smile', 'a broad smile',
         'an open smiling mouth'],
        ['the upper teeth showing', 'a smile that shows the teeth'],
        ['raised cheeks', 'cheeks pushed up under the eyes'],
        ['narrowed crinkled eyes', 'squinting smiling eyes'],
        ['folds from the nose to the mouth corners', 'deep smile lines'],
    ],
    'Surprise': [
        ['brows raised high', 'high arched brows'],
        ['eyes wide open', 'round wide eyes'],
        ['the mouth open in a round oval', 'a dropped jaw and a round '
         'open mouth'],
        ['long wrinkles across the forehead', 'a wrinkled forehead'],
    ],
    'Neutral': [
        ['relaxed brows', 'brows at rest'],
        ['eyes open normally', 'relaxed eyelids'],
        ['closed relaxed lips', 'a level closed mouth',
         'mouth corners level'],
        ['a smooth forehead', 'a calm face without wrinkles'],
    ],
}

#: Words that name each expression: nouns (the class name) and adjectives.
EXPRESSION_WORDS: Dict[str, Tuple[Tuple[str, ...], Tuple[str, ...]]] = {
    'Anger': (('anger', ), ('angry', 'furious')),
    'Disgust': (('disgust', ), ('disgusted', )),
    'Fear': (('fear', ), ('fearful', 'scared', 'afraid')),
    'Sadness': (('sadness', ), ('sad', 'unhappy')),
    'Happiness': (('happiness', ), ('happy', 'joyful')),
    'Surprise': (('surprise', ), ('surprised', 'astonished')),
    'Neutral': (('neutral', ), ('neutral', 'calm', 'expressionless')),
}

#: Caption templates that name the expression. The zero-shot template
#: (``'a photo of a {}.'``) is deliberately not among them.
NOUN_TEMPLATES = ('a face showing {}',
                  'a person making a facial expression of {}',
                  'an expression of {}', '{}')
ADJ_TEMPLATES = ('a photo of a {} person', 'a {} face', 'a {} expression',
                 'someone looking {}')

#: The expression a caption writer names instead, when they get it wrong
#: (the confusions people make: fear read as surprise, disgust as anger,
#: sadness and neutral mixed up).
CONFUSED_WITH: Dict[str, str] = {
    'Anger': 'Disgust', 'Disgust': 'Anger', 'Fear': 'Surprise',
    'Surprise': 'Fear', 'Sadness': 'Neutral', 'Neutral': 'Sadness',
    'Happiness': 'Surprise'}

#: CLIP normalisation (RGB, 0-1 scale).
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def make_caption(expression: str, rng: np.random.Generator,
                 name_prob: float = 0.2,
                 noun_prob: float = 0.3,
                 confuse_prob: float = 0.25) -> str:
    """Write one caption for a face showing ``expression``.

    The caption lists one to all of the expression's drawn features (each
    as a random paraphrase, in random order) and, with probability
    ``name_prob``, a name of the expression:
    its noun (the class name) with probability ``noun_prob``, else an
    adjective; with probability ``confuse_prob`` the name is the one of
    :data:`CONFUSED_WITH` instead (a noisy caption). Captions mention
    nothing but the face: with the background colour in them, contrastive
    training learns the colour (an easy shortcut) and not the expressions.

    Args:
        expression (str): A key of :data:`FEATURE_PHRASES`.
        rng (np.random.Generator): Source of the random choices.
        name_prob (float): Probability that the caption names an
            expression. Defaults to ``0.2``.
        noun_prob (float): Probability that a name is the noun. Defaults
            to ``0.3``.
        confuse_prob (float): Probability that a name is wrong. Defaults
            to ``0.25``.

    Returns:
        str: The caption.
    """
    features = FEATURE_PHRASES[expression]
    k = int(rng.integers(1, len(features) + 1))
    picked = [features[i][int(rng.integers(len(features[i])))]
              for i in rng.permutation(len(features))[:k]]
    desc = ', '.join(picked[:-1]) + (' and ' if k > 1 else '') + picked[-1]
    parts = [f'a face with {desc}']
    if rng.random() < name_prob:
        named = expression
        if rng.random() < confuse_prob:
            named = CONFUSED_WITH[expression]
        nouns, adjs = EXPRESSION_WORDS[named]
        if rng.random() < noun_prob:
            name = NOUN_TEMPLATES[int(rng.integers(len(NOUN_TEMPLATES)))]
            name = name.format(nouns[int(rng.integers(len(nouns)))])
        else:
            name = ADJ_TEMPLATES[int(rng.integers(len(ADJ_TEMPLATES)))]
            name = name.format(adjs[int(rng.integers(len(adjs)))])
        parts.insert(0 if rng.random() < 0.5 else len(parts), name)
    return ', '.join(parts)


def render_faces(num: int, seed: int, stream: int, classes: Sequence[str],
                 size: int = 100) -> Tuple[np.ndarray, np.ndarray]:
    """Draw ``num`` balanced faces as RGB uint8 after a JPEG round trip.

    Args:
        num (int): Number of faces.
        seed (int): Random seed.
        stream (int): Stream id (keeps pretraining faces apart from the
            dataset faces).
        classes (Sequence[str]): Expression names; labels index them.
        size (int): Side length, as the dataset images. Defaults to 100.

    Returns:
        tuple[np.ndarray, np.ndarray]: Images ``[num, size, size, 3]`` and
        labels ``[num]``.
    """
    import cv2

    from mpa_fer_plugin.datasets.synthetic import render_face
    labels = np.random.default_rng([seed, stream, 1]).permutation(
        np.arange(num) % len(classes))
    images = np.empty((num, size, size, 3), np.uint8)
    params = [cv2.IMWRITE_JPEG_QUALITY, 95]
    for i, label in enumerate(labels):
        rng = np.random.default_rng([seed, stream, 0, i])
        img = render_face(classes[label], rng, size)
        img = cv2.imdecode(cv2.imencode('.jpg', img, params)[1],
                           cv2.IMREAD_COLOR)
        images[i] = img[..., ::-1]
    return images, labels


def to_tensor(images: np.ndarray, image_size: int,
              rng: Optional[np.random.Generator] = None) -> torch.Tensor:
    """Resize (bicubic, as the demo pipelines) and normalise a batch.

    With ``rng``, each image is first cropped to a random square of
    80-100% of its area and flipped with probability 0.5 (the demo's
    training augmentation); without it the whole image is resized.

    Args:
        images (np.ndarray): RGB uint8 images ``[B, H, W, 3]``.
        image_size (int): Output side length.
        rng (np.random.Generator, optional): Augmentation randomness.
            Defaults to None (no augmentation).

    Returns:
        Tensor: ``[B, 3, image_size, image_size]`` float32.
    """
    from PIL import Image
    out = np.empty((len(images), image_size, image_size, 3), np.float32)
    for i, img in enumerate(images):
        pil = Image.fromarray(img)
        if rng is not None:
            side = int(round(img.shape[0] * math.sqrt(rng.uniform(0.8, 1.0))))
            x0, y0 = rng.integers(0, img.shape[0] - side + 1, 2)
            pil = pil.crop((int(x0), int(y0), int(x0) + side,
                            int(y0) + side))
            if rng.random() < 0.5:
                pil = pil.transpose(Image.FLIP_LEFT_RIGHT)
        pil = pil.resize((image_size, image_size), Image.BICUBIC)
        out[i] = np.asarray(pil, dtype=np.float32) / 255.0
    mean, std = np.array(CLIP_MEAN, np.float32), np.array(CLIP_STD,
                                                          np.float32)
    return torch.from_numpy((out - mean) / std).permute(0, 3, 1, 2)


def encode_text(model: torch.nn.Module, ids: torch.Tensor) -> torch.Tensor:
    """``model.encode_text`` run only up to the longest end-of-text token.

    Under CLIP's causal mask no position sees later ones, so cutting the
    sequence after the last end-of-text token gives the same features as
    the full context (the end-of-text token has the largest id, as for
    open_clip's ``argmax`` pooling).

    Args:
        model (nn.Module): An ``open_clip.model.CLIP``.
        ids (Tensor): Token ids ``[B, context_length]``.

    Returns:
        Tensor: Unnormalised text features ``[B, D]``.
    """
    eot = ids.argmax(dim=-1)
    length = int(eot.max()) + 1
    x = model.token_embedding(ids[:, :length])
    x = x + model.positional_embedding[:length]
    x = model.transformer(x, attn_mask=model.attn_mask[:length, :length])
    x = model.ln_final(x)
    return x[torch.arange(x.shape[0]), eot] @ model.text_projection


@torch.no_grad()
def zero_shot_accuracy(model: torch.nn.Module, images: torch.Tensor,
                       labels: np.ndarray, classes: Sequence[str],
                       template: str = 'a photo of a {}.') -> float:
    """Top-1 accuracy (%) of zero-shot classification with ``template``.

    Args:
        model (nn.Module): The CLIP model.
        images (Tensor): Normalised images ``[N, 3, H, W]``.
        labels (np.ndarray): Labels ``[N]`` indexing ``classes``.
        classes (Sequence[str]): Class names.
        template (str): Prompt template. Defaults to the zero-shot
            template of ``configs/_base_/models/zsclip_vit_b16.py``.

    Returns:
        float: Accuracy in percent.
    """
    import open_clip
    tokenizer = open_clip.SimpleTokenizer()
    text = F.normalize(encode_text(model, tokenizer(
        [template.format(c) for c in classes])), dim=-1)
    feats = torch.cat([model.encode_image(images[i:i + 256], normalize=True)
                       for i in range(0, len(images), 256)])
    pred = (feats @ text.t()).argmax(dim=-1).numpy()
    return float((pred == labels).mean() * 100)


def _lr_at(step: int, steps: int, lr: float, warmup: int) -> float:
    if step < warmup:
        return lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return lr * 0.5 * (1 + math.cos(math.pi * progress))


def pretrain_tiny_clip(out_dir: str,
                       seed: int = 0,
                       steps: int = 1000,
                       batch_size: int = 64,
                       num_images: int = 4000,
                       num_heldout: int = 700,
                       name_prob: float = 0.15,
                       noun_prob: float = 0.3,
                       confuse_prob: float = 0.25,
                       lr: float = 1e-3,
                       weight_decay: float = 0.05,
                       log_interval: int = 50,
                       model_cfg: Optional[dict] = None) -> dict:
    """Pretrain the tiny CLIP and write it to ``out_dir`` (fp16).

    Args:
        out_dir (str): Output folder (created if needed).
        seed (int): Seed of the faces, captions, initialisation and batch
            order. Defaults to ``0``.
        steps (int): Optimiser steps. Defaults to ``1000``.
        batch_size (int): Image-caption pairs per step. Defaults to ``64``.
        num_images (int): Faces in the pretraining pool (captions are
            redrawn every time a face is used). Defaults to ``4000``.
        num_heldout (int): Held-out faces for the zero-shot check.
            Defaults to ``700``.
        name_prob (float): Fraction of captions naming an expression.
            Defaults to ``0.15``.
        noun_prob (float): Fraction of names that are the noun (the class
            name) rather than an adjective. Defaults to ``0.3``.
        confuse_prob (float): Fraction of names that are wrong (see
            :data:`CONFUSED_WITH`). Defaults to ``0.25``.
        lr (float): Peak AdamW learning rate (linear warm-up over 5% of the
            steps, then cosine). Defaults to ``1e-3``.
        weight_decay (float): AdamW weight decay of the matrices.
            Defaults to ``0.05``.
        log_interval (int): Steps between progress lines. Defaults to 50.
        model_cfg (dict, optional): open_clip ``CLIP`` keyword arguments;
            None uses :data:`TINY_DEMO_CLIP`. Defaults to None.

    Returns:
        dict: The provenance record also written to ``provenance.json``.
    """
    import open_clip
    from mmengine.logging import print_log

    from mpa_fer_plugin.datasets.categories import FER7_CLASSES
    if steps < 1 or batch_size < 2 or num_images < batch_size:
        raise ValueError(f'need steps >= 1, batch_size >= 2 and num_images '
                         f'>= batch_size; got {steps}, {batch_size}, '
                         f'{num_images}')
    model_cfg = dict(model_cfg or TINY_DEMO_CLIP)
    image_size = model_cfg['vision_cfg']['image_size']
    classes = list(FER7_CLASSES)
    start = time.time()

    print_log(f'pretrain_tiny_clip: drawing {num_images} + {num_heldout} '
              'faces', logger='current')
    pool, pool_labels = render_faces(num_images, seed, PRETRAIN_STREAM,
                                     classes)
    held, held_labels = render_faces(num_heldout, seed, HELDOUT_STREAM,
                                     classes)
    held = to_tensor(held, image_size)

    torch.manual_seed(seed)
    model = open_clip.model.CLIP(**model_cfg)
    model.train()
    decay = [p for n, p in model.named_parameters()
             if p.ndim >= 2 and 'token_embedding' not in n
             and 'positional' not in n]
    no_decay = [p for n, p in model.named_parameters()
                if not (p.ndim >= 2 and 'token_embedding' not in n
                        and 'positional' not in n)]
    optimizer = torch.optim.AdamW(
        [dict(params=decay, weight_decay=weight_decay),
         dict(params=no_decay, weight_decay=0.0)], lr=lr, betas=(0.9, 0.98),
        eps=1e-6)
    loss_fn = open_clip.ClipLoss()
    tokenizer = open_clip.SimpleTokenizer()
    rng = np.random.default_rng([seed, PRETRAIN_STREAM, 2])
    warmup = max(1, steps // 20)
    order = rng.permutation(num_images)
    cursor, history = 0, []
    zs_before = zero_shot_accuracy(model, held, held_labels, classes)
    for step in range(steps):
        if cursor + batch_size > num_images:
            order, cursor = rng.permutation(num_images), 0
        idx = order[cursor:cursor + batch_size]
        cursor += batch_size
        images = to_tensor(pool[idx], image_size, rng)
        captions = [make_caption(classes[pool_labels[i]], rng, name_prob,
                                 noun_prob, confuse_prob) for i in idx]
        for group in optimizer.param_groups:
            group['lr'] = _lr_at(step, steps, lr, warmup)
        image_feats = model.encode_image(images, normalize=True)
        text_feats = F.normalize(encode_text(model, tokenizer(captions)),
                                 dim=-1)
        loss = loss_fn(image_feats, text_feats, model.logit_scale.exp())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        history.append(loss.item())
        if (step + 1) % log_interval == 0 or step + 1 == steps:
            print_log(
                f'pretrain_tiny_clip: step {step + 1}/{steps} loss '
                f'{np.mean(history[-log_interval:]):.3f} '
                f'({time.time() - start:.0f} s)', logger='current')

    model.eval()
    os.makedirs(out_dir, exist_ok=True)
    path = osp.join(out_dir, 'tiny_clip.pth')
    state = {k: v.detach().half() if v.is_floating_point() else v
             for k, v in model.state_dict().items()}
    torch.save(state, path)
    # Check the zero-shot accuracy of the weights as written (fp16).
    reloaded = open_clip.model.CLIP(**model_cfg).eval()
    open_clip.load_checkpoint(reloaded, path, strict=True)
    zs_after = zero_shot_accuracy(reloaded, held, held_labels, classes)
    with open(path, 'rb') as f:
        sha256 = hashlib.sha256(f.read()).hexdigest()
    with open(osp.join(out_dir, 'open_clip_config.json'), 'w') as f:
        json.dump({'model_cfg': model_cfg, 'preprocess_cfg': {
            'mean': list(CLIP_MEAN), 'std': list(CLIP_STD)}}, f, indent=2)
    record = dict(
        command='python tools/misc/pretrain_tiny_clip.py ' + out_dir +
        f' --seed {seed} --steps {steps} --batch-size {batch_size} '
        f'--num-images {num_images} --name-prob {name_prob} '
        f'--noun-prob {noun_prob} --confuse-prob {confuse_prob} --lr {lr}',
        seed=seed, steps=steps, batch_size=batch_size,
        num_images=num_images, name_prob=name_prob, noun_prob=noun_prob,
        confuse_prob=confuse_prob, lr=lr,
        weight_decay=weight_decay, loss='open_clip.ClipLoss',
        final_loss=round(float(np.mean(history[-log_interval:])), 4),
        zero_shot_template='a photo of a {}.',
        zero_shot_top1_heldout_before=round(zs_before, 2),
        zero_shot_top1_heldout=round(zs_after, 2),
        num_heldout=num_heldout, file='tiny_clip.pth', dtype='float16',
        bytes=osp.getsize(path), sha256=sha256,
        torch=torch.__version__, open_clip=open_clip.__version__,
        threads=torch.get_num_threads(),
        seconds=round(time.time() - start, 1))
    with open(osp.join(out_dir, 'provenance.json'), 'w') as f:
        json.dump(record, f, indent=2)
    print_log(f'pretrain_tiny_clip: zero-shot top-1 on {num_heldout} '
              f'held-out faces {zs_before:.1f}% -> {zs_after:.1f}% '
              f'(chance {100 / len(classes):.1f}%); wrote {path} '
              f'({record["bytes"] / 2**20:.2f} MiB) in '
              f'{record["seconds"]:.0f} s', logger='current')
    return record


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line (``argv`` defaults to ``sys.argv[1:]``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out_dir', help='output folder')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--steps', type=int, default=1000)
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--num-images', type=int, default=4000)
    parser.add_argument('--num-heldout', type=int, default=700)
    parser.add_argument('--name-prob', type=float, default=0.15,
                        help='fraction of captions naming an expression')
    parser.add_argument('--noun-prob', type=float, default=0.3,
                        help='fraction of names that are the class noun')
    parser.add_argument('--confuse-prob', type=float, default=0.25,
                        help='fraction of names that are wrong')
    parser.add_argument('--lr', type=float, default=1e-3)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> dict:
    """Run the pretraining from the command line."""
    args = parse_args(argv)
    return pretrain_tiny_clip(
        args.out_dir, seed=args.seed, steps=args.steps,
        batch_size=args.batch_size, num_images=args.num_images,
        num_heldout=args.num_heldout, name_prob=args.name_prob,
        noun_prob=args.noun_prob, confuse_prob=args.confuse_prob,
        lr=args.lr)


if __name__ == '__main__':
    main()
