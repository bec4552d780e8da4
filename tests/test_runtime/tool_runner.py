"""Helpers for subprocess tests of the tools (imported by the tests)."""
import os
import os.path as osp
import socket
import subprocess

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def run_tool(args, cwd=ROOT, timeout=600, env=None):
    """Run a command with the test environment; fail with its output."""
    full_env = dict(os.environ, HF_HUB_OFFLINE='1', PYTHONWARNINGS='ignore',
                    NO_PROXY='127.0.0.1,localhost')
    full_env.update(env or {})
    proc = subprocess.run(args, cwd=cwd, env=full_env, capture_output=True,
                          text=True, timeout=timeout)
    if proc.returncode != 0:
        pytest.fail(f'command failed ({proc.returncode}): {" ".join(args)}'
                    f'\n--- stdout ---\n{proc.stdout[-4000:]}'
                    f'\n--- stderr ---\n{proc.stderr[-6000:]}')
    return proc


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]
