"""Warn about ``--cfg-options`` keys that set something nothing reads.

mmengine's ``Config.merge_from_dict`` creates any key it is given, and the
Runner never looks at a key it does not know: ``--cfg-options
max_epochs=2`` (the schedule lives in ``train_cfg.max_epochs``) or
``env_cfg.cudnn_benchmrk=True`` train exactly as without the option, with
no word. :func:`check_options` finds the options whose key is absent from
the config where the absence can be judged:

* a top-level key that the config lacks and the Runner (or the plugin's
  tools) does not read;
* a key under an existing dict that lacks it, unless that dict builds a
  registered class (``type=...``) whose constructor takes the key (or any
  keyword);
* a path through a value that is not a dict, or a list index out of range.

Each finding names the option and, when one is close (``difflib``), the
key that was probably meant.
"""
import difflib
import inspect
import sys
from typing import Iterable, List, Mapping, Optional, Union

#: Top-level keys read although a config may lack them (mmengine's Runner
#: takes its arguments by name; the plugin's tools read the others).
KNOWN_TOP_LEVEL = frozenset({
    'model', 'work_dir', 'train_dataloader', 'val_dataloader',
    'test_dataloader', 'train_cfg', 'val_cfg', 'test_cfg', 'auto_scale_lr',
    'optim_wrapper', 'param_scheduler', 'val_evaluator', 'test_evaluator',
    'default_hooks', 'custom_hooks', 'data_preprocessor', 'load_from',
    'resume', 'launcher', 'env_cfg', 'log_processor', 'log_level',
    'visualizer', 'default_scope', 'randomness', 'experiment_name',
    'runner_type', 'custom_imports', 'tta_model', 'tta_pipeline',
    'face_geometry', 'compile', 'strategy', 'cfg', 'model_card'})


def _leaves(node, prefix: str = '') -> List[str]:
    out = []
    if isinstance(node, Mapping):
        for key, value in node.items():
            name = f'{prefix}.{key}' if prefix else str(key)
            out.append(name)
            out += _leaves(value, name)
    return out


def _constructor_params(type_name) -> Optional[set]:
    """Parameter names of a registered class, or None if unknowable."""
    if not isinstance(type_name, str):
        target = type_name
    else:
        target = None
        try:
            from mmpretrain import registry
        except ImportError:  # pragma: no cover
            return None
        for name in dir(registry):
            reg = getattr(registry, name)
            if hasattr(reg, 'get') and hasattr(reg, 'module_dict'):
                try:
                    target = reg.get(type_name)
                except Exception:  # noqa: BLE001  (a foreign scope)
                    target = None
                if target is not None:
                    break
    if target is None:
        return None
    # A constructor with **kwargs usually hands them to its base class:
    # follow the MRO until one takes no **kwargs (else: unknowable).
    chain = [c.__init__ for c in target.__mro__ if '__init__' in vars(c)] \
        if inspect.isclass(target) else [target]
    names: set = set()
    for func in chain:
        try:
            params = inspect.signature(func).parameters.values()
        except (TypeError, ValueError):
            return None
        names |= {p.name for p in params
                  if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            return names
    return None


def _suggest(word: str, candidates: Iterable[str]) -> str:
    match = difflib.get_close_matches(word, sorted(set(candidates)), n=1,
                                      cutoff=0.6)
    return f'; did you mean {match[0]!r}?' if match else ''


def check_options(cfg, options: Mapping) -> List[str]:
    """Messages for the options that set a key nothing reads.

    Args:
        cfg (Mapping): The config before the options are merged.
        options (Mapping): ``{'a.b.c': value}`` as ``DictAction`` gives.

    Returns:
        list[str]: One message per suspicious option (empty if none).
    """
    if hasattr(cfg, 'to_dict'):
        cfg = cfg.to_dict()
    found = []
    top = list(cfg.keys())
    leaves = _leaves(cfg)
    for option in options:
        parts = str(option).split('.')
        node, path = cfg, []
        for depth, part in enumerate(parts):
            where = '.'.join(path) or 'the top level'
            if isinstance(node, (list, tuple)):
                if part.isdigit() and int(part) < len(node):
                    node = node[int(part)]
                    path.append(part)
                    continue
                found.append(f'--cfg-options {option}: {where} is a list '
                             f'of {len(node)} items, {part!r} is not one '
                             'of its indices')
                break
            if not isinstance(node, Mapping):
                found.append(f'--cfg-options {option}: {where} is a '
                             f'{type(node).__name__} ({node!r:.40}), not a '
                             f'dict with a key {part!r}')
                break
            if depth == 0 and part in node and part not in \
                    KNOWN_TOP_LEVEL and len(parts) == 1:
                same = [k for k in leaves if k.endswith('.' + part)]
                hint = f'; did you mean {same[0]!r}?' if same else ''
                found.append(
                    f'--cfg-options {option}: {part!r} is a variable of the '
                    'config file, whose other settings took its value when '
                    'the file was read; nothing reads it afterwards, so '
                    f'this option changes nothing{hint}')
                break
            if part in node:
                node = node[part]
                path.append(part)
                continue
            if depth == 0:
                if part in KNOWN_TOP_LEVEL:
                    break
                same = [k for k in leaves if k.endswith('.' + part)]
                hint = (f'; did you mean {same[0]!r}?' if same else
                        _suggest(part, list(top) + list(KNOWN_TOP_LEVEL)))
                found.append(f'--cfg-options {option}: the config has no '
                             f'top-level key {part!r} and nothing reads '
                             f'one, so this option changes nothing{hint}')
                break
            params = _constructor_params(node['type']) \
                if 'type' in node else set()
            if params is None or part in params:
                break  # the class takes it (or any keyword)
            takes = f' and {node["type"]} takes no such argument' \
                if 'type' in node else ''
            found.append(
                f'--cfg-options {option}: {where} has no key {part!r}'
                f'{takes}, so this option is probably ignored'
                f'{_suggest(part, list(node) + sorted(params))}')
            break
    return found


def warn_unused_options(cfg: Union[str, Mapping],
                        options: Optional[Mapping],
                        where: str = '') -> List[str]:
    """Print a warning (stderr) for each option :func:`check_options` finds.

    Args:
        cfg (str | Mapping): The config (or its file) before the merge.
        options (Mapping, optional): The ``--cfg-options``.
        where (str): Added to each line (e.g. the sweep row).

    Returns:
        list[str]: The messages.
    """
    if not options:
        return []
    if isinstance(cfg, str):
        from mmengine.config import Config
        cfg = Config.fromfile(cfg)
    messages = check_options(cfg, options)
    for msg in messages:
        print(f'WARNING: {msg}' + (f' ({where})' if where else ''),
              file=sys.stderr, flush=True)
    return messages
