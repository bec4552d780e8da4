"""Reading descriptions files (the LLM knowledge of MPA-FER).

File format (JSON, ``format_version`` 1)::

    {
      "format_version": 1,
      "label_set": "fer8",                     # or a custom name
      "classes": ["Anger", "Disgust", ...],
      "descriptions": {"Anger": ["lowered, drawn-together brows ...", ...]},
      "provenance": {...}                      # how the texts were made
    }
"""
import json
import os.path as osp
from typing import Dict, List, Optional, Sequence

#: The descriptions shipped with the plugin (canonical 8 expressions).
DEFAULT_DESCRIPTIONS = osp.join(
    osp.dirname(__file__), 'data', 'fer8_descriptions.json')


def load_descriptions(path: str = DEFAULT_DESCRIPTIONS,
                      classes: Optional[Sequence[str]] = None
                      ) -> Dict[str, List[str]]:
    """Load a descriptions file.

    Args:
        path (str): The JSON file. Defaults to the shipped file.
        classes (Sequence[str], optional): If given, return only these
            classes (matched case-insensitively, returned under these
            spellings); a missing one is an error naming the file.

    Returns:
        dict[str, list[str]]: Class name -> descriptions.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'descriptions file {path!r} not found')
    try:
        with open(path, encoding='utf-8') as f:
            data = json.load(f)
    except json.JSONDecodeError as err:
        raise ValueError(f'descriptions file {path!r} is not valid JSON: '
                         f'line {err.lineno}: {err.msg}') from err
    if not isinstance(data, dict) or not isinstance(
            data.get('descriptions'), dict):
        raise ValueError(f'descriptions file {path!r} has no "descriptions" '
                         'object')
    descs = {str(k): [str(d) for d in v]
             for k, v in data['descriptions'].items()}
    if classes is None:
        return descs
    lookup = {k.strip().lower(): v for k, v in descs.items()}
    missing = [c for c in classes if c.strip().lower() not in lookup]
    if missing:
        raise ValueError(f'descriptions file {path!r} lacks classes '
                         f'{missing} (has {sorted(descs)})')
    return {c: lookup[c.strip().lower()] for c in classes}
