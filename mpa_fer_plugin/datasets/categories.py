"""The canonical facial-expression label space shared by every dataset.

Each FER dataset orders its labels differently (RAF-DB starts with Surprise,
AffectNet and FERPlus with Neutral). Following APViT, every dataset maps its
native order onto one canonical tuple, :data:`FER_CLASSES`, and both the
dataset ``metainfo['classes']`` and the head's ``classnames`` are taken from
the tuples defined here, so class names (which are also text prompts) can
never silently disagree. See docs/method.md.
"""
from typing import Dict, Sequence, Tuple

#: Canonical order (APViT): the first 7 are the basic expressions.
FER_CLASSES: Tuple[str, ...] = ('Anger', 'Disgust', 'Fear', 'Sadness',
                                'Happiness', 'Surprise', 'Neutral',
                                'Contempt')

#: The 7 basic expressions in canonical order (RAF-DB, AffectNet-7).
FER7_CLASSES: Tuple[str, ...] = FER_CLASSES[:7]
#: The 8 expressions in canonical order (AffectNet-8, FERPlus).
FER8_CLASSES: Tuple[str, ...] = FER_CLASSES

#: RAF-DB native order after ``label - 1``.
RAFDB_NATIVE: Tuple[str, ...] = ('Surprise', 'Fear', 'Disgust', 'Happiness',
                                 'Sadness', 'Anger', 'Neutral')
#: AffectNet expression codes 0-7 (8-10 are None/Uncertain/No-Face).
AFFECTNET_NATIVE: Tuple[str, ...] = ('Neutral', 'Happiness', 'Sadness',
                                     'Surprise', 'Fear', 'Disgust', 'Anger',
                                     'Contempt')
#: FERPlus vote columns (``fer2013new.csv``) for the 8 emotions.
FERPLUS_NATIVE: Tuple[str, ...] = ('Neutral', 'Happiness', 'Surprise',
                                   'Sadness', 'Anger', 'Disgust', 'Fear',
                                   'Contempt')

#: Named label sets, used by the description tools and the configs.
LABEL_SETS: Dict[str, Tuple[str, ...]] = {
    'fer7': FER7_CLASSES,
    'fer8': FER8_CLASSES,
    'rafdb': FER7_CLASSES,
    'affectnet7': FER7_CLASSES,
    'affectnet8': FER8_CLASSES,
    'ferplus': FER8_CLASSES,
}


def native_to_canonical(native: Sequence[str],
                        classes: Sequence[str] = FER_CLASSES
                        ) -> Tuple[int, ...]:
    """Return the table mapping native label indices to indices in ``classes``.

    Args:
        native (Sequence[str]): Class names in a dataset's native order.
        classes (Sequence[str]): The target (canonical) class tuple.
            Defaults to :data:`FER_CLASSES`.

    Returns:
        tuple[int]: ``table[native_index] == canonical_index``.
    """
    lookup = {name.lower(): i for i, name in enumerate(classes)}
    missing = [n for n in native if n.lower() not in lookup]
    if missing:
        raise ValueError(f'classes {missing} of the native order '
                         f'{tuple(native)} are not in the target classes '
                         f'{tuple(classes)}')
    return tuple(lookup[n.lower()] for n in native)


def get_label_set(name_or_classes) -> Tuple[str, ...]:
    """Resolve a label-set name (e.g. ``'fer7'``) or a class list to a tuple.

    Args:
        name_or_classes (str | Sequence[str]): A key of :data:`LABEL_SETS`,
            a comma-separated list of class names, or a sequence of names.

    Returns:
        tuple[str]: The class names.
    """
    if isinstance(name_or_classes, str):
        key = name_or_classes.strip().lower()
        if key in LABEL_SETS:
            return LABEL_SETS[key]
        if ',' in name_or_classes:
            names = tuple(n.strip() for n in name_or_classes.split(','))
        else:
            raise ValueError(
                f'unknown label set {name_or_classes!r}; expected one of '
                f'{sorted(LABEL_SETS)} or a comma-separated class list')
    else:
        names = tuple(str(n).strip() for n in name_or_classes)
    if not names or any(not n for n in names):
        raise ValueError(f'empty class name in {name_or_classes!r}')
    if len({n.lower() for n in names}) != len(names):
        raise ValueError(f'duplicate class names in {names}')
    return names


#: RAF-DB native order extended with Contempt as code 8. Not part of the
#: official release; used by the synthetic generator with 8 classes.
RAFDB_NATIVE_EXT: Tuple[str, ...] = RAFDB_NATIVE + ('Contempt',)

#: Folder and column names that real data sets use for each canonical class
#: (lower case), for layouts that name classes instead of numbering them.
CLASS_ALIASES: Dict[str, str] = {
    alias: name
    for name, aliases in {
        'Anger': ('anger', 'angry', 'mad'),
        'Disgust': ('disgust', 'disgusted', 'disgusting'),
        'Fear': ('fear', 'fearful', 'afraid', 'scared'),
        'Sadness': ('sadness', 'sad'),
        'Happiness': ('happiness', 'happy', 'joy', 'happy_face'),
        'Surprise': ('surprise', 'surprised', 'suprise'),
        'Neutral': ('neutral', 'calm'),
        'Contempt': ('contempt', 'contemptuous'),
    }.items() for alias in aliases
}


def resolve_class_name(name: str) -> str:
    """Map a folder or column name such as ``'happy'`` to a canonical name.

    Args:
        name (str): A class name or common alias, in any case.

    Returns:
        str: The matching name of :data:`FER_CLASSES`.
    """
    key = name.strip().lower()
    if key not in CLASS_ALIASES:
        raise ValueError(f'unknown expression name {name!r}; expected one of '
                         f'{sorted(set(CLASS_ALIASES))}')
    return CLASS_ALIASES[key]
