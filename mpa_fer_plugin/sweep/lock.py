"""One sweep at a time per work dir: a lock file naming its holder.

The lock is ``<work_dir>/sweep.lock``, a JSON record (pid, host, start
time of the process, command) created atomically (written to a temporary
file, then hard-linked to the lock name, which fails if it exists). A
second sweep on the same work dir refuses with the holder's pid and
command, or waits for it (``wait=True``). A lock whose process is gone (a
sweep killed with SIGKILL, a crashed machine) is taken over with a
warning. A lock held on another host cannot be checked and is never taken
over: the message names the file to delete once that sweep is known to
be gone.
"""
import json
import os
import os.path as osp
import socket
import sys
import time
from typing import Optional

LOCK_FILE = 'sweep.lock'


class SweepLocked(RuntimeError):
    """Another sweep holds the work dir."""


def _proc_start(pid: int) -> Optional[str]:
    """The start time of a process (Linux), to tell a reused pid apart."""
    try:
        with open(f'/proc/{pid}/stat') as f:
            text = f.read()
        return text.rsplit(')', 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _alive(holder: dict) -> bool:
    pid = holder.get('pid')
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    start = holder.get('proc_start')
    now = _proc_start(pid)
    return start is None or now is None or start == now


def _describe(holder: dict) -> str:
    return (f"pid {holder.get('pid')} on {holder.get('host')}, started "
            f"{holder.get('started')}: {holder.get('command')}")


class SweepLock:
    """The lock of a sweep work dir (a context manager).

    Args:
        work_dir (str): The sweep's work dir.
        wait (bool): Wait for a live holder instead of refusing.
        poll (float): Seconds between checks while waiting.
        timeout (float, optional): Give up waiting after this long.
    """

    def __init__(self, work_dir: str, wait: bool = False, poll: float = 2.0,
                 timeout: Optional[float] = None) -> None:
        self.path = osp.join(work_dir, LOCK_FILE)
        self.wait = wait
        self.poll = poll
        self.timeout = timeout
        self.held = False

    def _record(self) -> dict:
        pid = os.getpid()
        return dict(pid=pid, host=socket.gethostname(),
                    proc_start=_proc_start(pid),
                    started=time.strftime('%Y-%m-%dT%H:%M:%S'),
                    command=' '.join(sys.argv))

    def _try_create(self) -> bool:
        tmp = f'{self.path}.{os.getpid()}.tmp'
        with open(tmp, 'w') as f:
            json.dump(self._record(), f)
        try:
            os.link(tmp, self.path)
            return True
        except FileExistsError:
            return False
        finally:
            os.unlink(tmp)

    def _holder(self) -> Optional[dict]:
        try:
            with open(self.path) as f:
                data = json.load(f)
            return data if isinstance(data, dict) else {}
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return {}

    def acquire(self) -> None:
        """Take the lock, take over a stale one, or wait / refuse."""
        os.makedirs(osp.dirname(self.path) or '.', exist_ok=True)
        start, told = time.time(), False
        while not self._try_create():
            holder = self._holder()
            if holder is None:
                continue  # released meanwhile
            local = holder.get('host') in (None, socket.gethostname())
            if local and not _alive(holder):
                print(f'WARNING: {self.path}: taking over the lock of a '
                      'sweep that is no longer running '
                      f'({_describe(holder)})', file=sys.stderr, flush=True)
                try:
                    os.unlink(self.path)
                except FileNotFoundError:
                    pass
                continue
            where = '' if local else (
                f' (another host: delete {self.path} once that sweep is '
                'known to be gone)')
            if not self.wait:
                raise SweepLocked(
                    f'another sweep is running in '
                    f'{osp.dirname(self.path)}: {_describe(holder)}{where}.'
                    ' Wait for it to finish, or pass --wait to start once '
                    'it has.')
            if self.timeout is not None and \
                    time.time() - start > self.timeout:
                raise SweepLocked(f'gave up waiting for {self.path} after '
                                  f'{self.timeout:.0f} s: '
                                  f'{_describe(holder)}')
            if not told:
                print(f'waiting for the sweep holding {self.path} '
                      f'({_describe(holder)}){where}', flush=True)
                told = True
            time.sleep(self.poll)
        self.held = True

    def release(self) -> None:
        """Remove the lock if this process holds it."""
        if not self.held:
            return
        holder = self._holder() or {}
        if holder.get('pid') == os.getpid():
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
        self.held = False

    def __enter__(self) -> 'SweepLock':
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
