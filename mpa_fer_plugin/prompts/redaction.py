"""Keeping the API key and oversized text out of files and messages.

:func:`redact_secret` removes the key (and runs of its characters) from a
text; :func:`bounded` cuts a message to :data:`MESSAGE_LIMIT` characters,
stating the full length; :func:`server_name` names a server without the
credentials or query a base URL may carry.
"""
import re
import urllib.parse
from typing import Any, Optional, Tuple

#: A run of this many characters of the API key in a text is redacted.
SECRET_RUN = 12
#: Redacted text is replaced by this.
REDACTED = '[redacted API key]'
#: Messages (errors, log lines) are cut to this many characters.
MESSAGE_LIMIT = 1000


def bounded(message: str, limit: int = MESSAGE_LIMIT) -> str:
    """``message`` cut to ``limit`` characters, with its full length."""
    if len(message) <= limit:
        return message
    return message[:limit] + f'... [{len(message)} characters in all]'


def redact_secret(text: Any, secret: Optional[str]) -> Any:
    """Replace the key, and any run of :data:`SECRET_RUN` of its characters,
    in ``text`` by :data:`REDACTED` (non-strings are returned as they are).

    Args:
        text: The text (a reply, a message).
        secret (str, optional): The API key.

    Returns:
        The text without the key.
    """
    if not secret or not isinstance(text, str) or not text:
        return text
    text = text.replace(secret, REDACTED)
    run = min(len(secret), SECRET_RUN)
    marks = bytearray(len(text))
    for i in range(len(secret) - run + 1):
        window = secret[i:i + run]
        start = text.find(window)
        while start != -1:
            marks[start:start + run] = b'\x01' * run
            start = text.find(window, start + 1)
    if not any(marks):
        return text
    out, pos = [], 0
    for match in re.finditer(rb'\x01+', bytes(marks)):
        out += [text[pos:match.start()], REDACTED]
        pos = match.end()
    return ''.join(out + [text[pos:]])


def server_name(base_url: Any) -> str:
    """``scheme://host:port/path`` of a base URL (no credentials, query)."""
    parts = urllib.parse.urlsplit(str(base_url))
    if not parts.scheme:
        return str(base_url)[:200] or 'the OpenAI API'
    port = f':{parts.port}' if parts.port else ''
    return f'{parts.scheme}://{parts.hostname}{port}{parts.path.rstrip("/")}'


def describe_endpoint(base_url: Any) -> Tuple[str, str]:
    """Describe a base URL for provenance without its host or credentials.

    Args:
        base_url: The client's base URL.

    Returns:
        tuple[str, str]: ``(url, endpoint)``, e.g.
        ``('http://<host>/v1', 'custom endpoint')``; ``endpoint`` is
        ``'api.openai.com'`` for the OpenAI API.
    """
    parts = urllib.parse.urlsplit(str(base_url))
    if not parts.scheme:
        return 'custom endpoint', 'custom endpoint'
    url = f'{parts.scheme}://<host>{parts.path.rstrip("/")}'
    official = parts.hostname == 'api.openai.com'
    return url, 'api.openai.com' if official else 'custom endpoint'
