"""What a sweep run is: its whole definition, recorded next to its result.

A run's definition is everything that shapes its number: the resolved
config (after the row's, the dataset's, the sweep's and the command line's
options, the seed, the epochs and the model selection were applied; hashed
without ``work_dir``), the train/test kind, the tested checkpoint and the
data it reads. The data are fingerprinted from the resolved config:

* every ``data_root`` directory of a dataset: the list of its files with
  their sizes, and the content (SHA-256) of every file that is not an
  image (annotation lists, split files, CSVs) -- so an edited label file
  or a replaced split changes the definition, while a copy of the data
  to another disk (new mtimes) does not;
* every other file the config names (split files, description files,
  CLIP weights, the checkpoint a test-only row tests): SHA-256 of the
  content up to 64 MiB, size and modification time above (hashing a
  600 MB checkpoint at every start would cost seconds per run).

Images are fingerprinted by name and size, not content: hashing a
300,000-image folder at every start costs minutes, and an image edited in
place to the same byte size is not a case worth that price.

:func:`run_state` compares the recorded definition with the current one.
"""
import hashlib
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Tuple

#: Files in a data root that are fingerprinted by name and size only.
IMAGE_EXTS = frozenset({'.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif',
                        '.tiff', '.gif', '.ppm', '.pgm'})
#: Files up to this size are hashed; larger ones by size and mtime.
HASH_LIMIT = 64 * 2**20
#: At most this many changed config keys are named in a message.
MAX_NAMED = 6


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


class Fingerprints:
    """Fingerprints of files and data roots, cached for one invocation."""

    def __init__(self) -> None:
        self._files: Dict[tuple, str] = {}
        self._dirs: Dict[str, str] = {}
        #: Built definitions, see :func:`~.runner.identify` (building a
        #: run's config is the slow part of identifying it).
        self.definitions: Dict[tuple, tuple] = {}

    def file(self, path: str) -> str:
        """``sha256:...`` (up to :data:`HASH_LIMIT`) or size and mtime."""
        st = os.stat(path)
        key = (osp.abspath(path), st.st_size, st.st_mtime_ns)
        if key not in self._files:
            if st.st_size > HASH_LIMIT:
                self._files[key] = f'size {st.st_size}, mtime ' \
                                   f'{st.st_mtime_ns}'
            else:
                digest = hashlib.sha256()
                with open(path, 'rb') as f:
                    for block in iter(lambda: f.read(1 << 20), b''):
                        digest.update(block)
                self._files[key] = 'sha256:' + digest.hexdigest()[:16]
        return self._files[key]

    def directory(self, path: str) -> str:
        """Digest of a data root: names and sizes, non-image contents."""
        path = osp.abspath(path)
        if path not in self._dirs:
            lines, count = [], 0
            for top, dirs, files in os.walk(path, followlinks=True):
                dirs.sort()
                for name in sorted(files):
                    full = osp.join(top, name)
                    try:
                        size = os.stat(full).st_size
                    except OSError:
                        continue
                    rel = osp.relpath(full, path)
                    line = f'{rel}\t{size}'
                    if osp.splitext(name)[1].lower() not in IMAGE_EXTS:
                        line += '\t' + self.file(full)
                    lines.append(line)
                    count += 1
            digest = _sha('\n'.join(lines).encode('utf-8', 'replace'))
            self._dirs[path] = f'{count} files, sha256:{digest}'
        return self._dirs[path]


def flatten(value, prefix: str = '') -> Dict[str, str]:
    """``{'a.b.c': json text}`` of a nested config dict (lists whole)."""
    out: Dict[str, str] = {}
    if isinstance(value, dict) and value:
        for key in sorted(value, key=str):
            name = f'{prefix}.{key}' if prefix else str(key)
            out.update(flatten(value[key], name))
    else:
        out[prefix] = json.dumps(value, sort_keys=True, default=repr)
    return out


def _data_paths(value, found: Dict[str, str], roots: List[str],
                key: str = '', top: bool = True) -> None:
    """Collect data roots and the strings that may name files.

    A ``data_root`` variable at the top level of a config is not read by
    anything once the file is parsed (the dataset dicts are), so only
    nested ones count.
    """
    if isinstance(value, dict):
        root = value.get('data_root')
        if isinstance(root, str) and root and not top:
            roots.append(root)
        for k, v in value.items():
            if top and k == 'data_root':
                continue
            _data_paths(v, found, roots, str(k), top=False)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _data_paths(v, found, roots, key, top=False)
    elif isinstance(value, str) and value and key != 'work_dir':
        found[value] = key


def _resolve(path: str, base: str) -> str:
    path = osp.expanduser(path)
    return path if osp.isabs(path) else osp.join(base, path)


def data_fingerprints(cfg_dict: dict, base: str, skip_under: str,
                      fps: Fingerprints) -> Dict[str, str]:
    """Fingerprints of the data roots and files a resolved config reads.

    Args:
        cfg_dict (dict): The resolved config as a dict.
        base (str): Directory relative paths are resolved against (the
            directory the run's tools start in).
        skip_under (str): Paths under this directory (the sweep's work
            dir: caches and other runs' outputs) are not data.
        fps (Fingerprints): The cache.

    Returns:
        dict[str, str]: path (as written in the config) -> fingerprint.
    """
    strings: Dict[str, str] = {}
    roots: List[str] = []
    _data_paths(cfg_dict, strings, roots)
    skip = osp.abspath(skip_under) + os.sep
    out: Dict[str, str] = {}
    for root in roots:
        full = _resolve(root, base)
        if osp.isdir(full) and not osp.abspath(full).startswith(skip):
            out[root] = fps.directory(full)
        elif not osp.exists(full):
            out[root] = 'missing'
    for text in strings:
        if len(text) > 4096 or '\n' in text or text in out:
            continue
        full = _resolve(text, base)
        try:
            is_file = osp.isfile(full)
        except (OSError, ValueError):
            continue
        if is_file and not osp.abspath(full).startswith(skip):
            out[text] = fps.file(full)
    return out


def build_definition(cfg, spec, checkpoint: Optional[str], base: str,
                     sweep_dir: str, fps: Fingerprints
                     ) -> Tuple[dict, Dict[str, str]]:
    """The definition of one run and its flattened resolved config.

    Args:
        cfg (mmengine.Config): The run's resolved config.
        spec (RunSpec): The run.
        checkpoint (str, optional): The checkpoint a test-only run tests.
        base (str): Directory relative paths are resolved against.
        sweep_dir (str): The sweep's work dir (not fingerprinted).
        fps (Fingerprints): The fingerprint cache.

    Returns:
        tuple: ``(definition, resolved)``: the definition (JSON-able, with
        its ``key``) and ``{'a.b': value}`` of the resolved config (kept
        to name what changed).
    """
    cfg_dict = cfg.to_dict()
    cfg_dict.pop('work_dir', None)
    resolved = flatten(cfg_dict)
    config_sha = _sha(json.dumps(resolved, sort_keys=True).encode())
    ckpt_fp = None
    if checkpoint:
        full = _resolve(checkpoint, base)
        ckpt_fp = fps.file(full) if osp.isfile(full) else 'missing'
    definition = dict(
        config=spec.config, config_sha256=config_sha, train=spec.train,
        seed=spec.seed, epochs=spec.epochs, selection=spec.selection,
        cfg_options=json.loads(json.dumps(spec.cfg_options, sort_keys=True,
                                          default=repr)),
        checkpoint=checkpoint, checkpoint_fingerprint=ckpt_fp,
        data=data_fingerprints(cfg_dict, base, sweep_dir, fps))
    definition['key'] = _sha(json.dumps(definition, sort_keys=True).encode())
    return definition, resolved


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit - 3] + '...'


def describe_change(old_meta: dict, definition: dict,
                    resolved: Dict[str, str]) -> str:
    """What differs between a recorded definition and the current one."""
    old = old_meta.get('definition')
    if not isinstance(old, dict):
        return 'its result was recorded without a definition (by an ' \
               'older version of the sweep tool), so it cannot be ' \
               'matched to this one'
    changes = []
    old_resolved = old_meta.get('resolved') or {}
    keys = sorted(set(old_resolved) | set(resolved))
    diff = [k for k in keys if old_resolved.get(k) != resolved.get(k)]
    for k in diff[:MAX_NAMED]:
        changes.append(f'{k}: {_short(old_resolved.get(k, "(unset)"))} -> '
                       f'{_short(resolved.get(k, "(unset)"))}')
    if len(diff) > MAX_NAMED:
        changes.append(f'and {len(diff) - MAX_NAMED} more config keys')
    old_data, new_data = old.get('data') or {}, definition['data']
    for path in sorted(set(old_data) | set(new_data)):
        if old_data.get(path) != new_data.get(path):
            changes.append(f'data {path}: {old_data.get(path, "(unread)")}'
                           f' -> {new_data.get(path, "(unread)")}')
    for k in ('seed', 'epochs', 'selection', 'train', 'checkpoint',
              'checkpoint_fingerprint'):
        if old.get(k) != definition.get(k) and not (
                k in ('seed', 'epochs', 'selection') and diff):
            changes.append(f'{k}: {old.get(k)!r} -> {definition.get(k)!r}')
    if not changes and old.get('config') != definition['config']:
        changes.append(f"config file: {old.get('config')} -> "
                       f"{definition['config']}")
    return '; '.join(changes) or 'the recorded definition differs'


def read_json_checked(path: str) -> Tuple[Optional[dict], Optional[str]]:
    """``(data, None)``, ``(None, None)`` if missing, or ``(None, why)``."""
    if not osp.exists(path):
        return None, None
    try:
        with open(path, 'rb') as f:
            data = json.loads(f.read().decode('utf-8'))
    except (OSError, ValueError) as exc:  # UnicodeDecodeError is one
        return None, f'{type(exc).__name__}: {_short(str(exc), 200)}'
    if not isinstance(data, dict):
        return None, f'expected a JSON object, got {type(data).__name__}'
    return data, None


def run_state(work_dir: str, meta_file: str, result_file: str,
              definition: dict, resolved: Dict[str, str]
              ) -> Tuple[str, str]:
    """The state of a run against its current definition.

    Returns:
        tuple: ``(state, detail)``; state is ``'new'`` (nothing there),
        ``'done'`` (a readable result recorded with this definition),
        ``'partial'`` (same definition, no result: interrupted or
        failed), ``'corrupt'`` (same definition, unreadable result;
        detail names the file and the reason) or ``'changed'`` (detail
        says what changed).
    """
    meta_path = osp.join(work_dir, meta_file)
    result_path = osp.join(work_dir, result_file)
    meta, meta_err = read_json_checked(meta_path)
    if meta is None:
        if meta_err:
            return 'changed', f'its record {meta_path} is unreadable ' \
                              f'({meta_err})'
        leftovers = osp.isdir(work_dir) and any(
            n.endswith('.pth') or n == result_file
            for n in os.listdir(work_dir))
        return ('changed', 'files of an unrecorded run are there') \
            if leftovers else ('new', '')
    if meta.get('key') != definition['key']:
        return 'changed', describe_change(meta, definition, resolved)
    if not osp.exists(result_path):
        return 'partial', ''
    result, err = read_json_checked(result_path)
    if result is not None and not isinstance(result.get('metrics'), dict):
        err = 'no "metrics" object in it'
    if err:
        return 'corrupt', f'{result_path} is unreadable ({err})'
    return 'done', ''
