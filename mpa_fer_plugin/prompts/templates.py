"""Hard-prompt templates at the three granularities of MPA-FER (Table 2).

The class name is lower-cased (``{cls}``); the texts are exactly:

1. ``'a photo of {cls}.'``, e.g. ``'a photo of happiness.'``;
2. ``'a photo of a person making a facial expression of {cls}.'``;
3. template 2 without its period, a comma and one LLM-written description
   of the expression's facial features:
   ``'a photo of a person making a facial expression of {cls}, {desc}'``
   (the paper's best setting and the default).

Punctuation: a granularity-3 prompt ends with the description as written
(``end_period=False``, the default; the shipped descriptions have no final
period, so the default prompts end without one); ``end_period=True``
(config: ``head.hard_prompt_end_period=True``) appends ``"."`` to a
description that has none (one CLIP token more).

``'a photo of a {}.'`` is a different text: CLIP's usual zero-shot
template, the ``prompt_template`` of the zero-shot CLIP configs and of the
base-to-novel sweep (and ``'a photo of a'`` is KgCoOp's context
initialisation). It is never a hard prompt of this module.
"""
from typing import Dict, List, Mapping, Optional, Sequence

import torch

#: Format strings per granularity; ``{cls}`` is the lower-cased class name,
#: ``{desc}`` one description (granularity 3 only).
HARD_PROMPT_TEMPLATES: Dict[int, str] = {
    1: 'a photo of {cls}.',
    2: 'a photo of a person making a facial expression of {cls}.',
    3: 'a photo of a person making a facial expression of {cls}, {desc}',
}


def format_hard_prompt(classname: str,
                       granularity: int = 3,
                       description: Optional[str] = None,
                       end_period: bool = False) -> str:
    """Build one hard prompt.

    Args:
        classname (str): The class name, e.g. ``'Happiness'``.
        granularity (int): 1, 2 or 3 (see :data:`HARD_PROMPT_TEMPLATES`).
            Defaults to ``3``.
        description (str, optional): Required for granularity 3.
        end_period (bool): Granularity 3: append ``"."`` to a description
            that does not end with one. Defaults to False (the prompt ends
            with the description as written).

    Returns:
        str: The prompt text.
    """
    if granularity not in HARD_PROMPT_TEMPLATES:
        raise ValueError(f'granularity={granularity!r} must be one of '
                         f'{sorted(HARD_PROMPT_TEMPLATES)}')
    cls = classname.strip().lower()
    if granularity < 3:
        return HARD_PROMPT_TEMPLATES[granularity].format(cls=cls)
    if not description or not description.strip():
        raise ValueError(f'granularity 3 needs a non-empty description for '
                         f'class {classname!r}')
    desc = description.strip()
    if end_period and not desc.endswith('.'):
        desc += '.'
    return HARD_PROMPT_TEMPLATES[3].format(cls=cls, desc=desc)


def derangement(n: int, seed: int = 0) -> List[int]:
    """A seeded random permutation of ``range(n)`` without fixed points.

    Used by the shuffled-descriptions control: class ``c`` gets the
    descriptions of class ``perm[c] != c``. Deterministic for a given
    ``(n, seed)`` (rejection sampling with a seeded generator).

    Args:
        n (int): Number of items, >= 2.
        seed (int): Seed of the draw. Defaults to 0.

    Returns:
        list[int]: The permutation.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise ValueError(f'a derangement needs n >= 2 items, got {n!r}')
    gen = torch.Generator().manual_seed(int(seed))
    while True:
        perm = torch.randperm(n, generator=gen).tolist()
        if all(p != i for i, p in enumerate(perm)):
            return perm


def shuffle_descriptions(classnames: Sequence[str],
                         descriptions: Mapping[str, Sequence[str]],
                         seed: int = 0) -> Dict[str, List[str]]:
    """Give every class another class's descriptions (a control).

    Args:
        classnames (Sequence[str]): Class names in model order.
        descriptions (Mapping[str, Sequence[str]]): Class name ->
            descriptions (case-insensitive keys).
        seed (int): Seed of the :func:`derangement`. Defaults to 0.

    Returns:
        dict[str, list[str]]: ``classnames[c]`` -> the descriptions of
        ``classnames[perm[c]]``.
    """
    lookup = {k.strip().lower(): list(v) for k, v in descriptions.items()}
    missing = [c for c in classnames if c.strip().lower() not in lookup]
    if missing:
        raise ValueError(f'descriptions are missing classes {missing}')
    perm = derangement(len(classnames), seed)
    return {c: lookup[classnames[p].strip().lower()]
            for c, p in zip(classnames, perm)}


def build_hard_prompts(classnames: Sequence[str],
                       descriptions: Optional[Mapping[str, Sequence[str]]],
                       granularity: int = 3,
                       end_period: bool = False) -> List[List[str]]:
    """Build the hard prompts of every class.

    Args:
        classnames (Sequence[str]): Class names in model order.
        descriptions (Mapping[str, Sequence[str]], optional): Class name ->
            descriptions (case-insensitive keys); needed for granularity 3.
        granularity (int): 1, 2 or 3. Defaults to ``3``.
        end_period (bool): See :func:`format_hard_prompt`. Defaults to
            False.

    Returns:
        list[list[str]]: For each class, its prompts (one for granularity
        1/2, one per description for granularity 3; their encoded features
        are averaged by the head).
    """
    if granularity < 3:
        return [[format_hard_prompt(c, granularity)] for c in classnames]
    if descriptions is None:
        raise ValueError('granularity 3 hard prompts need a descriptions file')
    lookup = {k.strip().lower(): v for k, v in descriptions.items()}
    missing = [c for c in classnames if c.strip().lower() not in lookup]
    if missing:
        raise ValueError(f'descriptions are missing classes {missing} '
                         f'(have {sorted(descriptions)})')
    prompts = []
    for c in classnames:
        descs = list(lookup[c.strip().lower()])
        if not descs:
            raise ValueError(f'class {c!r} has no descriptions')
        prompts.append(
            [format_hard_prompt(c, granularity, d, end_period)
             for d in descs])
    return prompts
