"""Captions of the tiny demo CLIP's pretraining: action units, by region.

Real CLIP learns expressions from web captions that describe faces and only
sometimes name the emotion. The demo CLIP is pretrained the same way: each
face of the demo world (:mod:`mpa_fer_plugin.datasets.synthetic_faces`)
gets a caption that lists some of its drawn action units, one phrase per
facial region, and only rarely names the expression. The phrases of a
region are shared between expressions that share the cue (Fear and
Surprise have the same brow and eye phrases, Anger and Disgust the same
brow, furrow and eye phrases), so the text tower has to compose them: the
discriminating cue is the one phrase that differs. Each region phrase is
also a *region caption* for the patch-level objective of
:mod:`.pretrain_tiny_clip` (the patch tokens inside that region's mask).
"""
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

_RAISED = ['raised brows', 'brows lifted high']
_LOWERED = ['lowered brows pulled together', 'low knitted brows']
_FURROWS = ['vertical furrows between the brows',
            'creases between the brows']
_FOREHEAD = ['wrinkles across the forehead', 'a wrinkled forehead']
_WIDE = ['eyes opened wide', 'wide staring eyes']
_NARROW = ['narrowed eyes', 'tense narrow eyes']

#: ``(region, paraphrases)`` per drawn cue of each expression; regions are
#: those of :data:`~mpa_fer_plugin.datasets.synthetic_faces.REGION_NAMES`.
REGION_PHRASES: Dict[str, List[Tuple[str, List[str]]]] = {
    'Anger': [('brows', _LOWERED), ('brows', _FURROWS), ('eyes', _NARROW),
              ('mouth', ['lips pressed into a thin line',
                         'tightly pressed lips'])],
    'Disgust': [('brows', _LOWERED), ('brows', _FURROWS), ('eyes', _NARROW),
                ('nose', ['a wrinkled nose', 'creases across the nose']),
                ('mouth', ['the upper lip raised over the teeth',
                           'a curled upper lip'])],
    'Fear': [('brows', _RAISED), ('brows', _FOREHEAD), ('eyes', _WIDE),
             ('mouth', ['lips stretched sideways',
                        'a wide mouth stretched flat'])],
    'Surprise': [('brows', _RAISED), ('brows', _FOREHEAD), ('eyes', _WIDE),
                 ('mouth', ['a round open mouth',
                            'the jaw dropped in an oval mouth'])],
    'Sadness': [('brows', ['inner ends of the brows raised',
                           'brows slanted up in the middle']),
                ('mouth', ['lip corners pulled down',
                           'a mouth curving downward']),
                ('mouth', ['a crease below the lower lip',
                           'a puckered chin'])],
    'Happiness': [('mouth', ['lip corners pulled up into a smile',
                             'a smile showing the teeth']),
                  ('cheeks', ['raised cheeks',
                              'smile lines from the nose to the mouth']),
                  ('eyes', ['narrowed smiling eyes', 'crinkled eyes'])],
    'Neutral': [('brows', ['relaxed brows', 'brows at rest']),
                ('eyes', ['eyes open normally', 'relaxed eyelids']),
                ('mouth', ['closed relaxed lips', 'a level mouth'])],
}

#: Words naming each expression: nouns (the class name) and adjectives.
EXPRESSION_WORDS: Dict[str, Tuple[Tuple[str, ...], Tuple[str, ...]]] = {
    'Anger': (('anger', ), ('angry', 'furious')),
    'Disgust': (('disgust', ), ('disgusted', )),
    'Fear': (('fear', ), ('fearful', 'scared', 'afraid')),
    'Sadness': (('sadness', ), ('sad', 'unhappy')),
    'Happiness': (('happiness', ), ('happy', 'joyful')),
    'Surprise': (('surprise', ), ('surprised', 'astonished')),
    'Neutral': (('neutral', ), ('neutral', 'calm', 'expressionless')),
}

#: Caption templates naming the expression. The zero-shot template
#: (``'a photo of a {}.'``) is deliberately not among them.
NOUN_TEMPLATES = ('a face showing {}', 'an expression of {}', '{}')
ADJ_TEMPLATES = ('a photo of a {} person', 'a {} face', 'someone looking {}')


def _pick(rng: np.random.Generator, items: Sequence[str]) -> str:
    return items[int(rng.integers(len(items)))]


def name_phrase(expression: str, rng: np.random.Generator,
                noun_prob: float = 0.3) -> str:
    """A phrase naming ``expression`` (its noun or an adjective)."""
    nouns, adjs = EXPRESSION_WORDS[expression]
    if rng.random() < noun_prob:
        return _pick(rng, NOUN_TEMPLATES).format(_pick(rng, nouns))
    return _pick(rng, ADJ_TEMPLATES).format(_pick(rng, adjs))


def make_caption(expression: str, rng: np.random.Generator,
                 name_prob: float = 0.1, noun_prob: float = 0.3,
                 min_cues: int = 1) -> str:
    """One caption of a face showing ``expression``.

    Lists ``min_cues`` to all of the expression's cues (a random paraphrase
    each, in random order) as ``'a face with A, B and C'``; with
    probability ``name_prob`` a name of the expression (see
    :func:`name_phrase`) is put before or after it.

    Args:
        expression (str): A key of :data:`REGION_PHRASES`.
        rng (np.random.Generator): Source of the random choices.
        name_prob (float): Probability of naming the expression.
            Defaults to ``0.1``.
        noun_prob (float): Probability that a name is the class noun.
            Defaults to ``0.3``.
        min_cues (int): Fewest cues listed. Defaults to ``1``.

    Returns:
        str: The caption.
    """
    cues = REGION_PHRASES[expression]
    k = int(rng.integers(min(min_cues, len(cues)), len(cues) + 1))
    picked = [_pick(rng, cues[i][1]) for i in rng.permutation(len(cues))[:k]]
    desc = ', '.join(picked[:-1]) + (' and ' if k > 1 else '') + picked[-1]
    parts = [f'a face with {desc}']
    if rng.random() < name_prob:
        parts.insert(0 if rng.random() < 0.5 else 1,
                     name_phrase(expression, rng, noun_prob))
    return ', '.join(parts)


def region_caption(expression: str, rng: np.random.Generator,
                   name_prob: float = 0.1,
                   noun_prob: float = 0.3) -> Tuple[str, str]:
    """A caption of one cue of ``expression`` and the region it is in.

    With probability ``name_prob`` the expression is named too (``'a
    fearful person, lips stretched sideways'``), so that class-name prompts
    reach the patch tokens as they reach the class token.

    Returns:
        tuple[str, str]: ``(region, caption)``.
    """
    region, phrases = REGION_PHRASES[expression][int(rng.integers(
        len(REGION_PHRASES[expression])))]
    text = _pick(rng, phrases)
    if rng.random() < name_prob:
        text = f'{name_phrase(expression, rng, noun_prob)}, {text}'
    return region, text


def demo_descriptions(without_cue: bool = False,
                      classes: Optional[Sequence[str]] = None
                      ) -> Dict[str, List[str]]:
    """Hard-prompt descriptions of the demo world, from the caption phrases.

    Each class gets descriptions that name its cues, the discriminating one
    included. ``without_cue`` drops every cue the class shares with no
    other class -- the one that tells it from its look-alike (e.g. Fear
    keeps raised brows, forehead wrinkles and wide eyes but loses the
    stretched lips) -- for the "description without the discriminating
    cue" control; a class left with no cue keeps one of its cues so that
    every class has a description.

    Args:
        without_cue (bool): Drop the discriminating cues. Defaults to False.
        classes (Sequence[str], optional): Classes; defaults to all of
            :data:`REGION_PHRASES`.

    Returns:
        dict[str, list[str]]: Class -> descriptions.
    """
    classes = list(classes or REGION_PHRASES)
    shared = {}
    for cls in REGION_PHRASES:
        for _, phrases in REGION_PHRASES[cls]:
            shared[phrases[0]] = shared.get(phrases[0], 0) + 1
    out = {}
    for cls in classes:
        cues = [p for _, p in REGION_PHRASES[cls]]
        if without_cue:
            kept = [p for p in cues if shared[p[0]] > 1]
            cues = kept or cues[:1]
        descs = []
        for j in range(2):  # two paraphrase sets per class
            words = [p[j % len(p)] for p in cues]
            descs.append('a face with ' + ', '.join(words[:-1]) +
                         (' and ' if len(words) > 1 else '') + words[-1])
        out[cls] = descs
    return out


#: Files written by :func:`write_demo_descriptions` (next to the weights).
DESCRIPTION_FILES = {False: 'demo_descriptions.json',
                     True: 'demo_descriptions_without_cue.json'}


def write_demo_descriptions(out_dir: str) -> Dict[bool, str]:
    """Write both demo description files (:data:`DESCRIPTION_FILES`).

    Their provenance says what they are: written from the caption phrases
    of this module (hand-written for the demo world, the same phrases the
    tiny CLIP was pretrained on), not generated by an LLM.

    Returns:
        dict[bool, str]: ``without_cue`` -> written path.
    """
    import os.path as osp

    from mpa_fer_plugin.prompts.descriptions import (
        FORMAT_VERSION,
        save_descriptions,
    )
    paths = {}
    for without_cue, name in DESCRIPTION_FILES.items():
        descs = demo_descriptions(without_cue)
        data = dict(
            format_version=FORMAT_VERSION, label_set='fer7',
            classes=list(descs), descriptions=descs, provenance=dict(
                method='composed by mpa_fer_plugin.demo.captions.'
                'demo_descriptions from the hand-written action-unit '
                'phrases of REGION_PHRASES (written for the generated demo '
                'faces by an AI coding assistant working on this project; '
                'the tiny CLIP is pretrained on captions made of the same '
                'phrases). Not generated by an LLM call, not for real '
                'faces.' + (' Control variant: every cue that only this '
                            'class has (the one telling it from its '
                            'look-alike) is left out.' if without_cue
                            else ''),
                model=None, tool='tools/misc/pretrain_tiny_clip.py',
                without_discriminating_cue=without_cue))
        paths[without_cue] = osp.join(out_dir, name)
        save_descriptions(data, paths[without_cue])
    return paths
