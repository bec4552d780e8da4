"""Safe loading and atomic saving of mmengine checkpoints.

Used by :mod:`mpa_fer_plugin.utils.compat`, which installs these functions
in mmengine (so every loading path uses them: ``--resume``, ``load_from``,
``tools/test.py``, ``tools/infer.py``, mmpretrain's ``get_model`` and the
stock mmpretrain tools).

**Loading** keeps ``torch.load(weights_only=True)`` and allows exactly the
non-tensor types that mmengine and the plugin put in their checkpoints
(:data:`CHECKPOINT_SAFE_GLOBALS`, found with
``torch.serialization.get_unsafe_globals_in_checkpoint`` on checkpoints of
the demo config): mmengine's ``HistoryBuffer`` (message hub), numpy arrays,
scalars and dtypes (numpy scalars in the message hub), ``getattr``
restricted to the statistics methods a ``HistoryBuffer`` pickles
(``HistoryBuffer.min`` etc.) and ``bytes`` restricted to byte data (an
empty numpy array pickles its data as ``bytes()``). torch itself already
allows ``_codecs.encode`` (a pure function turning a string into bytes,
which numpy arrays need).
Anything else is refused with :class:`UnsafeCheckpointError` naming the
type and the opt-in for trusted files: ``--trust-checkpoint`` on the tools
or the environment variable ``MPA_FER_TRUST_CHECKPOINTS=1``, which load
with full unpickling (``weights_only=False``; a pickle can run code).

**Saving** writes to a temporary file in the destination folder, flushes it
to disk and renames it over the destination (atomic on POSIX), so a kill
never leaves a half-written checkpoint under the final name. The
temporary file is named ``.<name>.<host>_<pid>.<random>.tmp``; one left by
a killed save (its process no longer runs) is removed by the next save
into that folder and by auto-resume (:func:`clean_stale_temp_files`).
A checkpoint saved here carries an integrity record of its ``state_dict``
that every load verifies (:mod:`mpa_fer_plugin.utils.checkpoint_check`).
"""
import os
import os.path as osp
import re
import tempfile
import zipfile
from typing import Any, Callable, List, Optional

import torch

from .temp_files import clean_stale_temp_files, temp_prefix
from .tool_utils import TRUST_ENV

#: Names under which a restricted ``getattr`` is allowed in checkpoints.
_GETATTR_NAMES = ('builtins.getattr', '__builtin__.getattr')


class UnsafeCheckpointError(RuntimeError):
    """A checkpoint needs types outside the safe allow-list."""


class CorruptCheckpointError(RuntimeError):
    """A checkpoint file is truncated or not a checkpoint."""


def trust_checkpoints() -> bool:
    """Whether full unpickling was opted in (``MPA_FER_TRUST_CHECKPOINTS``).

    Returns:
        bool: True if the variable is ``1``, ``true`` or ``yes``.
    """
    return os.environ.get(TRUST_ENV, '').strip().lower() in ('1', 'true',
                                                             'yes')


def _history_buffer_getattr(obj: Any, name: str) -> Any:
    """``getattr`` limited to the statistics methods of ``HistoryBuffer``.

    ``HistoryBuffer.__getstate__`` stores its ``_statistics_methods``
    (unbound methods such as ``HistoryBuffer.mean``), which pickle as
    ``getattr(HistoryBuffer, 'mean')``. Nothing else may be looked up.
    """
    from mmengine.logging import HistoryBuffer
    names = {'min', 'max', 'current', 'mean'}
    names.update(HistoryBuffer._statistics_methods)
    if obj is HistoryBuffer and isinstance(name, str) and name in names \
            and callable(getattr(HistoryBuffer, name, None)):
        return getattr(HistoryBuffer, name)
    raise UnsafeCheckpointError(
        f'checkpoint looks up attribute {name!r} of {obj!r}; only the '
        'statistics methods of mmengine HistoryBuffer are allowed')


def _bytes_from_data(*args: Any) -> bytes:
    """``bytes`` for pickled byte strings only (not ``bytes(n)``).

    Pickle protocol 2 writes an empty byte string, e.g. the data of an empty
    numpy array in a ``HistoryBuffer``, as ``bytes()``.
    """
    if args and isinstance(args[0], int):
        raise UnsafeCheckpointError(
            'checkpoint calls bytes() with a size; only byte data is allowed')
    return bytes(*args)


def checkpoint_safe_globals() -> List[Any]:
    """The allow-list for :func:`torch.serialization.safe_globals`.

    Returns:
        list: Classes/functions, and ``(function, 'module.name')`` pairs.
    """
    import numpy as np
    from mmengine.logging import HistoryBuffer

    allowed: List[Any] = [HistoryBuffer, np.ndarray, np.dtype]
    # numpy >= 2 pickles from numpy._core, numpy 1.x from numpy.core.
    multiarray = getattr(getattr(np, '_core', None), 'multiarray', None)
    if multiarray is None:  # pragma: no cover - numpy 1.x
        multiarray = np.core.multiarray
    for mod in ('numpy._core.multiarray', 'numpy.core.multiarray'):
        allowed.append((multiarray._reconstruct, f'{mod}._reconstruct'))
        allowed.append((multiarray.scalar, f'{mod}.scalar'))
    # numpy >= 1.25 pickles dtypes with their class (numpy.dtypes.*DType).
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        allowed += [getattr(dtypes, n) for n in dir(dtypes)
                    if n.endswith('DType')]
    allowed += [(_history_buffer_getattr, n) for n in _GETATTR_NAMES]
    allowed += [(_bytes_from_data, n)
                for n in ('builtins.bytes', '__builtin__.bytes')]
    return allowed


#: Same list, built lazily by :func:`checkpoint_safe_globals`.
CHECKPOINT_SAFE_GLOBALS = checkpoint_safe_globals


def _unsafe_names(message: str) -> List[str]:
    names = re.findall(r'GLOBAL ([\w.]+)', message)
    names += re.findall(r'unrecognized function (\S+)', message)
    names += re.findall(r"classes allowlisted .* but got (<class '[\w.]+'>)",
                        message)
    return names


def is_complete_checkpoint(path: str) -> bool:
    """Cheap completeness check of a (zip-format) checkpoint file.

    torch writes the zip central directory last, so a truncated file fails
    here without reading the tensors.

    Args:
        path (str): The file.

    Returns:
        bool: True if it is a readable zip archive with a ``data.pkl``.
    """
    if not osp.isfile(path):
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            return any(n.endswith('data.pkl') for n in archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return False


def safe_torch_load(path: str, map_location: Optional[Any] = None,
                    loader: Optional[Callable] = None) -> Any:
    """``torch.load`` under the plugin's policy, with errors naming the file.

    Args:
        path (str): The local file (used in messages).
        map_location (optional): Same as :func:`torch.load`.
        loader (callable, optional): ``loader(weights_only=...)`` doing the
            actual load (for URLs); defaults to ``torch.load(path)``.

    Returns:
        Any: The unpickled checkpoint.
    """
    import pickle

    trusted = trust_checkpoints()
    if loader is None:
        def loader(weights_only):
            return torch.load(path, map_location=map_location,
                              weights_only=weights_only)
    from .checkpoint_check import verify_integrity
    if trusted:
        checkpoint = loader(False)
        verify_integrity(checkpoint, path)
        return checkpoint
    try:
        with torch.serialization.safe_globals(checkpoint_safe_globals()):
            checkpoint = loader(True)
    except (pickle.UnpicklingError, UnsafeCheckpointError) as err:
        names = ', '.join(_unsafe_names(str(err))) or str(err).split('\n')[0]
        raise UnsafeCheckpointError(
            f'refusing to load checkpoint {path}: it contains {names}, '
            'which is not among the types mmengine and mpa_fer_plugin '
            'save (loading it could run code from the file). If you trust '
            'the file, pass --trust-checkpoint or set '
            f'{TRUST_ENV}=1.') from err
    except Exception as err:
        if osp.isfile(path) and not is_complete_checkpoint(path):
            size = osp.getsize(path)
            raise CorruptCheckpointError(
                f'checkpoint {path} is truncated or not a checkpoint '
                f'({size} bytes; an interrupted save leaves such a file): '
                f'{type(err).__name__}: {err}') from err
        raise CorruptCheckpointError(
            f'cannot read checkpoint {path}: {type(err).__name__}: '
            f'{err}') from err
    verify_integrity(checkpoint, path)
    return checkpoint


def load_local_checkpoint(filename: str,
                          map_location: Optional[Any] = None) -> Any:
    """mmengine's local-file scheme, loading under :func:`safe_torch_load`.

    Args:
        filename (str): Path to the checkpoint file (``~`` is expanded).
        map_location (optional): Same as :func:`torch.load`.

    Returns:
        Any: The checkpoint.
    """
    path = osp.expanduser(filename)
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} can not be found.')
    return safe_torch_load(path, map_location)


def load_http_checkpoint(filename: str, map_location: Optional[Any] = None,
                         model_dir: Optional[str] = None,
                         progress: bool = False) -> Any:
    """mmengine's ``http(s)://`` scheme under the same policy.

    Args:
        filename (str): The URL.
        map_location (optional): Same as :func:`torch.load`.
        model_dir (str, optional): Download folder (torch hub default).
        progress (bool): Show a download progress bar.

    Returns:
        Any: The checkpoint.
    """
    from mmengine.dist import get_dist_info
    from torch.hub import load_state_dict_from_url

    def loader(weights_only):
        return load_state_dict_from_url(
            filename, model_dir=model_dir, map_location=map_location,
            progress=progress, weights_only=weights_only)

    rank, world_size = get_dist_info()
    checkpoint = None
    if rank == 0:
        checkpoint = safe_torch_load(filename, map_location, loader)
    if world_size > 1:
        torch.distributed.barrier()
        if rank > 0:
            checkpoint = safe_torch_load(filename, map_location, loader)
    return checkpoint


def atomic_torch_save(obj: Any, path: str) -> None:
    """``torch.save`` to ``path`` through a temporary file and a rename.

    A ``dict`` with a ``state_dict`` gets an integrity record in its
    ``meta`` (:func:`~mpa_fer_plugin.utils.checkpoint_check.
    with_integrity_record`; the caller's dicts are not modified), and
    temporary files of killed earlier saves in the folder are removed.

    Args:
        obj (Any): What to save.
        path (str): Destination; its folder is created if needed.
    """
    from .checkpoint_check import with_integrity_record
    path = osp.abspath(osp.expanduser(path))
    folder = osp.dirname(path)
    os.makedirs(folder, exist_ok=True)
    clean_stale_temp_files(folder)
    obj = with_integrity_record(obj)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=temp_prefix(path),
                               suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(text: str, path: str) -> None:
    """Write a small text file (``last_checkpoint``) atomically.

    Args:
        text (str): The content.
        path (str): Destination.
    """
    folder = osp.dirname(osp.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=temp_prefix(path),
                               suffix='.tmp')
    try:
        with os.fdopen(fd, 'w') as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.unlink(tmp)
        raise


def find_latest_complete_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint ``--resume`` (auto) should continue from.

    ``last_checkpoint`` names it; if that file is missing or incomplete
    (an interrupted save), the newest complete ``*.pth`` of ``work_dir``
    (best-score checkpoints excluded: they lack the optimizer state) is
    used instead, with a warning. Temporary files of killed saves are
    removed first (:func:`clean_stale_temp_files`).

    Args:
        work_dir (str): The work directory.

    Returns:
        str | None: The checkpoint, or None if there is none to resume.
    """
    from mmengine.logging import print_log

    clean_stale_temp_files(work_dir)
    save_file = osp.join(work_dir, 'last_checkpoint')
    named = None
    if osp.exists(save_file):
        with open(save_file) as f:
            named = f.read().strip() or None
    if named is not None and is_complete_checkpoint(named):
        return named
    candidates = []
    if osp.isdir(work_dir):
        for name in os.listdir(work_dir):
            full = osp.join(work_dir, name)
            if name.endswith('.pth') and not name.startswith(('.', 'best_')) \
                    and is_complete_checkpoint(full):
                candidates.append((osp.getmtime(full), name, full))
    if named is None and not osp.exists(save_file):
        print_log('Did not find last_checkpoint to be resumed.',
                  logger='current')
        return None
    why = ('is empty' if named is None else
           f'names {named}, which is missing' if not osp.exists(named) else
           f'names {named}, which is incomplete (an interrupted save?)')
    if not candidates:
        raise FileNotFoundError(
            f'cannot resume in {work_dir}: {save_file} {why}, and no other '
            'complete checkpoint is there')
    newest = max(candidates)[2]
    print_log(f'{save_file} {why}; resuming from the newest complete '
              f'checkpoint {newest} instead', logger='current',
              level=30)
    return newest
