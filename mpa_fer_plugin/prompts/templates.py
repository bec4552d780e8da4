"""Hard-prompt templates at the three granularities of MPA-FER (Table 2).

``method.md`` §3.3: granularity 1 is ``"a photo of [class]"``, granularity 2
``"a photo of a person making a facial expression of [class]"`` and
granularity 3 is template 2 followed by an LLM-written description of the
expression's facial features. Template 3 is the paper's best setting.
"""
from typing import Dict, List, Mapping, Optional, Sequence

#: Format strings per granularity; ``{cls}`` is the lower-cased class name,
#: ``{desc}`` one description (granularity 3 only).
HARD_PROMPT_TEMPLATES: Dict[int, str] = {
    1: 'a photo of {cls}.',
    2: 'a photo of a person making a facial expression of {cls}.',
    3: 'a photo of a person making a facial expression of {cls}, {desc}',
}


def format_hard_prompt(classname: str,
                       granularity: int = 3,
                       description: Optional[str] = None) -> str:
    """Build one hard prompt.

    Args:
        classname (str): The class name, e.g. ``'Happiness'``.
        granularity (int): 1, 2 or 3 (see :data:`HARD_PROMPT_TEMPLATES`).
            Defaults to ``3``.
        description (str, optional): Required for granularity 3.

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
    if not desc.endswith('.'):
        desc += '.'
    return HARD_PROMPT_TEMPLATES[3].format(cls=cls, desc=desc)


def build_hard_prompts(classnames: Sequence[str],
                       descriptions: Optional[Mapping[str, Sequence[str]]],
                       granularity: int = 3) -> List[List[str]]:
    """Build the hard prompts of every class.

    Args:
        classnames (Sequence[str]): Class names in model order.
        descriptions (Mapping[str, Sequence[str]], optional): Class name ->
            descriptions (case-insensitive keys); needed for granularity 3.
        granularity (int): 1, 2 or 3. Defaults to ``3``.

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
            [format_hard_prompt(c, granularity, d) for d in descs])
    return prompts
