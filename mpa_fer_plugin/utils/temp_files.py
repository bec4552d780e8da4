"""Temporary files of atomic saves, and removing those a kill left behind.

:func:`~mpa_fer_plugin.utils.safe_checkpoint.atomic_torch_save` and
``atomic_write_text`` write ``.<name>.<host>_<pid>.<random>.tmp`` next to
the destination and rename it; a kill (``SIGKILL``, power loss) in between
leaves that file. :func:`clean_stale_temp_files` removes such files when
their process no longer runs; it is called by every atomic save into the
folder and by auto-resume.
"""
import os
import os.path as osp
import re
import socket
import time
from typing import List

#: Temporary files of :func:`atomic_torch_save` / :func:`atomic_write_text`
#: (``.<name>.<host>_<pid>.<mkstemp random>.tmp``) and of earlier versions
#: (``.<name>.<random>.tmp``, no process id).
_TEMP_RE = re.compile(r'^\.(?P<name>.+?)\.(?P<host>[A-Za-z0-9-]+)_'
                      r'(?P<pid>\d+)\.[a-z0-9_]{8}\.tmp$')
_OLD_TEMP_RE = re.compile(r'^\.(?P<name>.+)\.[a-z0-9_]{8}\.tmp$')
#: Age after which a temp file of unknown process, or of another host, is
#: taken as left over.
STALE_TEMP_AGE_S = 3600.0


def _host() -> str:
    return re.sub(r'[^A-Za-z0-9-]', '-', socket.gethostname())[:40] or 'h'


def temp_prefix(path: str) -> str:
    """The ``mkstemp`` prefix of a temporary file for ``path``."""
    return f'.{osp.basename(path)}.{_host()}_{os.getpid()}.'


def _pid_running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def clean_stale_temp_files(folder: str) -> List[str]:
    """Remove temporary files that killed saves left in ``folder``.

    Only this module's own pattern is touched: a file whose writing process
    (on this host) no longer runs, or one without a process id or from
    another host that is older than :data:`STALE_TEMP_AGE_S`.

    Args:
        folder (str): The folder (not searched recursively).

    Returns:
        list[str]: The removed files.
    """
    from mmengine.logging import print_log
    removed: List[str] = []
    if not osp.isdir(folder):
        return removed
    now = time.time()
    for name in sorted(os.listdir(folder)):
        full = osp.join(folder, name)
        match = _TEMP_RE.match(name)
        try:
            if match:
                stale = (not _pid_running(int(match['pid']))
                         if match['host'] == _host() else
                         now - osp.getmtime(full) > STALE_TEMP_AGE_S)
            elif _OLD_TEMP_RE.match(name):
                stale = now - osp.getmtime(full) > STALE_TEMP_AGE_S
            else:
                continue
            if stale and osp.isfile(full):
                os.unlink(full)
                removed.append(full)
        except OSError:  # gone meanwhile, or not ours to remove
            continue
    if removed:
        print_log(f'removed {len(removed)} temporary file(s) of unfinished '
                  f'saves in {folder}: '
                  + ', '.join(osp.basename(r) for r in removed),
                  logger='current')
    return removed
