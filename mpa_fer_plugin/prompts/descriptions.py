"""Reading, checking and writing descriptions files (MPA-FER hard prompts).

A descriptions file holds the LLM knowledge of the method (its hard
prompts, see docs/method.md): for each class, N short visual descriptions
of its facial features. Each one becomes a granularity-3 hard prompt
(:func:`~.templates.format_hard_prompt`).

File format (JSON, UTF-8, ``format_version`` 1)::

    {
      "format_version": 1,
      "label_set": "fer8",            # a LABEL_SETS key or "custom"
      "classes": ["Anger", "Disgust", ...],          # model order
      "descriptions": {"Anger": ["brows lowered ...", ...], ...},
      "provenance": {...}             # how the texts were made
    }

``provenance`` is free-form but always an object. Files written by
``tools/generate_descriptions.py`` record ``model``, ``base_url`` (scheme and
path only, the host is replaced by ``<host>``), ``endpoint``, the exact
``system_prompt`` / ``user_prompt_template`` / ``reask_prompt``,
``temperature``, ``seed``, ``n_per_class``, ``max_words``, ``json_mode``,
``created`` / ``updated`` (UTC, ISO 8601), ``tool`` and ``plugin_version``.
A file whose ``descriptions`` lacks some of its ``classes`` is a partial run
(see ``--resume``); :func:`validate_descriptions` reports it as incomplete.
"""
import json
import os
import os.path as osp
import re
import tempfile
from functools import lru_cache
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

from .templates import format_hard_prompt

#: The descriptions shipped with the plugin (canonical 8 expressions).
DEFAULT_DESCRIPTIONS = osp.join(
    osp.dirname(__file__), 'data', 'fer8_descriptions.json')
#: The only file-format version this module reads and writes.
FORMAT_VERSION = 1
#: CLIP's text context length, SOT and EOT included.
CLIP_CONTEXT_LENGTH = 77


def shorten(text: Any, limit: int = 200, quote: bool = True) -> str:
    """``repr`` of ``text`` (or the text) cut to ``limit`` characters.

    A longer text ends with ``...`` and its full length, so that a 10 MB
    description makes a one-line message, not a 10 MB one.
    """
    text = text if isinstance(text, str) else repr(text)
    cut = text if len(text) <= limit else text[:limit]
    shown = repr(cut) if quote else cut
    if len(text) > limit:
        shown += f'... [{len(text)} characters in all]'
    return shown


def read_json_file(path: str, what: str = 'descriptions file') -> Any:
    """Read a UTF-8 JSON file; errors name the file, line and byte.

    Args:
        path (str): The file.
        what (str): What the file is, for the messages.

    Returns:
        The parsed JSON value.

    Raises:
        ValueError: Not UTF-8 (the byte offset, line and column of the first
            bad byte) or not JSON (line and column), naming ``path``.
    """
    with open(path, 'rb') as f:
        raw = f.read()
    try:
        text = raw.decode('utf-8-sig')
    except UnicodeDecodeError as err:
        line = raw.count(b'\n', 0, err.start) + 1
        column = err.start - (raw.rfind(b'\n', 0, err.start) + 1) + 1
        raise ValueError(
            f'{what} {path!r} is not valid UTF-8: byte '
            f'{raw[err.start:err.start + 1]!r} at offset {err.start} (line '
            f'{line}, column {column}); save it as UTF-8') from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f'{what} {path!r} is not valid JSON: line '
                         f'{err.lineno}, column {err.colno}: {err.msg}'
                         ) from None


def load_descriptions(path: str = DEFAULT_DESCRIPTIONS,
                      classes: Optional[Sequence[str]] = None
                      ) -> Dict[str, List[str]]:
    """Load a descriptions file, refusing one that is not well-formed.

    The file goes through :func:`validate_descriptions` (the validator
    ``tools/generate_descriptions.py --check`` uses) for ``classes``: a
    class whose entry is a string, ``null``, a number or an empty list, a
    description that is not a non-empty string, or a bad header is a
    ``ValueError`` naming the file and the class. Duplicate descriptions
    (which ``--check`` reports, and which controls may use on purpose) and
    the CLIP token budget (checked when the prompts are tokenized, see
    ``truncate_hard_prompts``) are not refused here.

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
    data = read_json_file(path)
    if not isinstance(data, dict):
        raise ValueError(f'descriptions file {path!r}: the top level is a '
                         f'{type(data).__name__}, not an object with '
                         '"descriptions"')
    if not isinstance(data.get('descriptions'), dict):
        raise ValueError(f'descriptions file {path!r} has no "descriptions" '
                         f'object (keys: {sorted(data)})')
    raw = data['descriptions']
    if classes is not None:
        lookup = {str(k).strip().lower(): k for k in raw}
        missing = [c for c in classes if c.strip().lower() not in lookup]
        if missing:
            raise ValueError(f'descriptions file {path!r} lacks classes '
                             f'{missing} (has {sorted(raw)})')
    problems = validate_descriptions(data, classes, context_length=None,
                                     duplicates=False)
    if problems:
        raise ValueError(
            f'descriptions file {path!r} is invalid (check it with '
            'tools/generate_descriptions.py --check): ' + '; '.join(problems))
    descs = {str(k): list(v) for k, v in raw.items()
             if isinstance(v, list)}
    if classes is None:
        return descs
    lookup = {k.strip().lower(): v for k, v in descs.items()}
    return {c: lookup[c.strip().lower()] for c in classes}


def normalize_description(text: str) -> str:
    """Return the key under which two descriptions count as duplicates.

    Case, runs of whitespace and a trailing full stop are ignored (the
    granularity-3 template adds the full stop anyway).

    Args:
        text (str): A description.

    Returns:
        str: The normalised text.
    """
    return re.sub(r'\s+', ' ', text).strip().rstrip('.').strip().lower()


@lru_cache(maxsize=None)
def get_clip_tokenizer(model_name: str = 'ViT-B-16'):
    """Return open_clip's bundled (offline) tokenizer, cached per name.

    Args:
        model_name (str): An open_clip model name. Defaults to
            ``'ViT-B-16'``.

    Returns:
        open_clip.tokenizer.SimpleTokenizer: The tokenizer.
    """
    import open_clip  # deferred: pulls in torch
    return open_clip.get_tokenizer(model_name)


def count_clip_tokens(text: str, tokenizer=None) -> int:
    """Count the CLIP tokens of ``text``, SOT and EOT included.

    Args:
        text (str): The prompt.
        tokenizer: An object with ``encode(text) -> list[int]`` returning
            the BPE ids without SOT/EOT (open_clip's ``SimpleTokenizer``).
            Defaults to :func:`get_clip_tokenizer`'s.

    Returns:
        int: The number of tokens CLIP's text encoder would see before
        truncation.
    """
    tokenizer = tokenizer if tokenizer is not None else get_clip_tokenizer()
    return len(tokenizer.encode(text)) + 2


def _read(data_or_path: Union[str, Mapping[str, Any]], problems: List[str]
          ) -> Optional[Mapping[str, Any]]:
    if not isinstance(data_or_path, (str, os.PathLike)):
        return data_or_path
    path = os.fspath(data_or_path)
    try:
        return read_json_file(path, 'file')
    except FileNotFoundError:
        problems.append(f'file {path!r} not found')
    except ValueError as err:
        problems.append(str(err))
    return None


def _check_header(data: Any, problems: List[str]) -> Optional[List[str]]:
    """Check the top-level fields; return the file's class list if usable."""
    if not isinstance(data, Mapping):
        problems.append(f'top level is a {type(data).__name__}, not an '
                        'object')
        return None
    version = data.get('format_version')
    if version != FORMAT_VERSION:
        problems.append(f'format_version is {version!r}, expected '
                        f'{FORMAT_VERSION}')
    if not isinstance(data.get('label_set'), str):
        problems.append('"label_set" is missing or not a string')
    if not isinstance(data.get('provenance'), Mapping):
        problems.append('"provenance" is missing or not an object')
    if not isinstance(data.get('descriptions'), Mapping):
        problems.append('"descriptions" is missing or not an object')
    classes = data.get('classes')
    if not (isinstance(classes, list) and classes
            and all(isinstance(c, str) and c.strip() for c in classes)):
        problems.append('"classes" is missing or not a non-empty list of '
                        'class names')
        return None
    seen = set()
    for cls in classes:
        if cls.strip().lower() in seen:
            problems.append(f'"classes" lists {cls!r} twice')
        seen.add(cls.strip().lower())
    return classes


def validate_descriptions(data_or_path: Union[str, Mapping[str, Any]],
                          classes: Optional[Sequence[str]] = None,
                          tokenizer=None,
                          context_length: Optional[int] = (
                              CLIP_CONTEXT_LENGTH),
                          duplicates: bool = True) -> List[str]:
    """List every problem of a descriptions file (empty list: it is fine).

    Checks the format (version, ``label_set``, ``classes``, ``descriptions``,
    ``provenance``), that every class is present with a non-empty list of
    non-empty strings, that no description repeats within a class or across
    classes (see :func:`normalize_description`), and that every
    granularity-3 hard prompt fits ``context_length`` CLIP tokens.

    Args:
        data_or_path (str | Mapping): A file path or the loaded object.
        classes (Sequence[str], optional): Classes that must be present
            (case-insensitive). Defaults to the file's own ``classes``; then
            descriptions of unlisted classes are problems too.
        tokenizer: Passed to :func:`count_clip_tokens`. Defaults to
            open_clip's ``ViT-B-16`` tokenizer.
        context_length (int, optional): Token budget, SOT/EOT included;
            ``None`` skips the token check. Defaults to ``77``.
        duplicates (bool): Report repeated descriptions. Defaults to True.

    Returns:
        list[str]: Human-readable problems, each naming its class.
    """
    problems: List[str] = []
    data = _read(data_or_path, problems)
    if data is None:
        return problems
    file_classes = _check_header(data, problems)
    descs = data.get('descriptions') if isinstance(data, Mapping) else None
    if not isinstance(descs, Mapping):
        return problems
    lookup = {str(k).strip().lower(): (k, v) for k, v in descs.items()}
    wanted = list(classes) if classes is not None else file_classes
    if wanted is None:
        wanted = [str(k) for k in descs]
    elif classes is None:
        listed = {c.strip().lower() for c in wanted}
        problems += [f'class {k!r} has descriptions but is not in "classes"'
                     for k in descs if str(k).strip().lower() not in listed]
    owner: Dict[str, str] = {}
    for cls in wanted:
        if cls.strip().lower() not in lookup:
            problems.append(f'class {cls!r}: missing from "descriptions"')
            continue
        key, items = lookup[cls.strip().lower()]
        if not isinstance(items, list) or not items:
            problems.append(f'class {cls!r}: no descriptions (expected a '
                            f'non-empty list, got {shorten(items)})')
            continue
        for i, text in enumerate(items):
            if not isinstance(text, str) or not text.strip():
                problems.append(f'class {cls!r}: description {i} is empty '
                                f'or not a string: {shorten(text)}')
                continue
            norm = normalize_description(text)
            if duplicates and owner.get(norm) == cls:
                problems.append(f'class {cls!r}: duplicate description '
                                f'{shorten(text)}')
                continue
            if duplicates and norm in owner:
                problems.append(f'class {cls!r}: description '
                                f'{shorten(text)} is also used for class '
                                f'{owner[norm]!r}')
            owner.setdefault(norm, cls)
            if context_length is None:
                continue
            prompt = format_hard_prompt(cls, 3, text)
            n_tokens = count_clip_tokens(prompt, tokenizer)
            if n_tokens > context_length:
                problems.append(
                    f'class {cls!r}: prompt has {n_tokens} tokens > '
                    f'{context_length} (CLIP would truncate it): '
                    f'{shorten(prompt)}')
    return problems


def save_descriptions(data: Mapping[str, Any], path: str) -> None:
    """Write a descriptions object atomically (temp file + ``os.replace``).

    A reader (or a crash at any point) sees either the previous file or the
    complete new one, never a partial write.

    Args:
        data (Mapping): The descriptions object (see the module docstring).
        path (str): Destination file; its directory is created if needed.
    """
    if not isinstance(data, Mapping) or not isinstance(
            data.get('descriptions'), Mapping):
        raise ValueError('save_descriptions needs an object with a '
                         '"descriptions" mapping')
    text = json.dumps(data, indent=2, ensure_ascii=False) + '\n'
    path = osp.abspath(path)
    folder = osp.dirname(path)
    os.makedirs(folder, exist_ok=True)
    # mkstemp creates the file 0600; keep the old file's mode, else 0644.
    mode = os.stat(path).st_mode & 0o777 if osp.exists(path) else 0o644
    fd, tmp = tempfile.mkstemp(
        dir=folder, prefix=f'.{osp.basename(path)}.', suffix='.tmp')
    try:
        with os.fdopen(fd, 'w', encoding='utf-8') as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.unlink(tmp)
        raise


def resume_descriptions(path: str, classes: Sequence[str],
                        settings: Mapping[str, Any], keys: Sequence[str],
                        n_per_class: int) -> Dict[str, Any]:
    """Load a (partial) descriptions file to continue filling it.

    Args:
        path (str): The existing file.
        classes (Sequence[str]): The classes of this run; must equal the
            file's ``classes``.
        settings (Mapping): This run's provenance entries; the file's
            ``provenance`` must agree on every one of ``keys``.
        keys (Sequence[str]): The entries that must match.
        n_per_class (int): A class counts as finished with exactly this many
            non-empty descriptions; other classes are dropped (asked again).

    Returns:
        dict: The file's object with finished classes only, and
        ``provenance`` updated with ``settings`` (``created`` is kept).
    """
    try:
        data = read_json_file(path)
    except (OSError, ValueError) as err:
        raise ValueError(f'cannot resume {path}: {err}') from None
    if not (isinstance(data, dict)
            and isinstance(data.get('descriptions'), dict)
            and isinstance(data.get('provenance'), dict)):
        raise ValueError(f'cannot resume {path}: not a descriptions file')
    prov = data['provenance']
    diffs = []
    if data.get('format_version') != FORMAT_VERSION:
        diffs.append(f'format_version={data.get("format_version")!r} '
                     f'(this run: {FORMAT_VERSION})')
    if data.get('classes') != list(classes):
        diffs.append(f'classes={data.get("classes")!r} (this run: '
                     f'{list(classes)!r})')
    diffs += [f'{k}={prov.get(k)!r} (this run: {settings.get(k)!r})'
              for k in keys if prov.get(k) != settings.get(k)]
    if diffs:
        raise ValueError(
            f'cannot resume {path}: it was made with other settings: '
            + '; '.join(diffs) + '. Rerun with the same settings, or write '
            'to another file, or start over.')
    data['descriptions'] = {
        c: v for c, v in data['descriptions'].items()
        if c in classes and isinstance(v, list) and len(v) == n_per_class
        and all(isinstance(d, str) and d.strip() for d in v)}
    prov.update(settings)
    prov.setdefault('replies', {})
    return data
