"""Parsing an LLM's JSON reply ``{"descriptions": [...]}``.

Chat models asked for JSON still go wrong in a few common ways: an empty or
cut-off reply, prose or a Markdown code fence around the object, a bare list,
a wrong key, blank or repeated items. :func:`parse_reply` accepts the
harmless variants (a code fence, extra items) and raises
:class:`ReplyFormatError`, whose message is the reason to send back to the
model, for the rest.
"""
import json
import re
from typing import List, Optional

from .descriptions import normalize_description

_FENCE = re.compile(r'\s*```[a-zA-Z]*\s*(.*?)\s*```\s*', re.S)


class ReplyFormatError(ValueError):
    """A reply that is not the requested JSON (the reason is the message)."""


def parse_reply(text: Optional[str], n: Optional[int] = None) -> List[str]:
    """Extract the descriptions of a reply ``{"descriptions": [...]}``.

    Whitespace is collapsed; blank, non-string and duplicate items (see
    :func:`~.descriptions.normalize_description`) are dropped.

    Args:
        text (str, optional): The message content.
        n (int, optional): If given, at least ``n`` descriptions are
            required and the first ``n`` are returned.

    Returns:
        list[str]: The descriptions, in reply order.
    """
    if not text or not text.strip():
        raise ReplyFormatError('the reply is empty')
    fenced = _FENCE.fullmatch(text)
    try:
        obj = json.loads(fenced.group(1) if fenced else text)
    except json.JSONDecodeError as err:
        raise ReplyFormatError(f'the reply is not valid JSON ({err.msg} at '
                               f'line {err.lineno} column {err.colno})'
                               ) from None
    if not isinstance(obj, dict):
        raise ReplyFormatError(f'the reply is a JSON {type(obj).__name__}, '
                               'not an object')
    items = obj.get('descriptions')
    if not isinstance(items, list):
        raise ReplyFormatError('the JSON object has no "descriptions" list')
    found, seen = [], set()
    for item in items:
        if not isinstance(item, str) or not item.strip():
            continue
        item = ' '.join(item.split())
        key = normalize_description(item)
        if key not in seen:
            seen.add(key)
            found.append(item)
    if n is not None and len(found) < n:
        raise ReplyFormatError(f'expected {n} different non-empty string '
                               f'descriptions, got {len(found)}')
    return found if n is None else found[:n]
