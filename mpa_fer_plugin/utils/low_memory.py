"""A low-memory training process: checkpointing plus a returning allocator.

Activation checkpointing (``backbone.with_cp``) halves what a training step
adds to the process, but on CPU the peak resident set size also counts
memory that PyTorch has freed and glibc's ``malloc`` keeps: once a large
block is freed, glibc raises its mmap threshold (up to 32 MiB) and serves
later blocks of that size from its heap, which it rarely returns. Two
glibc settings make freed activations go back to the operating system:

* ``MALLOC_MMAP_THRESHOLD_`` fixed at 128 KiB: every block above it is
  mapped on allocation and unmapped on free (the dynamic threshold is
  switched off);
* ``GLIBC_TUNABLES=glibc.malloc.hugetlb=1`` (glibc >= 2.35): those maps are
  marked for transparent huge pages, so the kernel faults them in 2 MiB at
  a time instead of 4 KiB; this pays back most of the page-fault time the
  first setting costs (measured in README "Performance").

glibc reads both when a process starts, so :func:`reexec_low_memory`
restarts the current command (same process id, so torchrun and slurm keep
tracking it) with them set. On other C libraries the variables are
ignored.
"""
import os
import sys
from typing import Any, Dict, List, Mapping, Optional

#: The mmap threshold of the low-memory mode, in bytes.
LOW_MEMORY_MMAP_THRESHOLD = 128 * 1024
#: The glibc tunable that maps malloc's mmapped blocks as huge pages.
HUGETLB_TUNABLE = 'glibc.malloc.hugetlb=1'
#: Set in the environment of a process restarted by
#: :func:`reexec_low_memory` (so it never restarts twice).
MARKER_ENV = 'MPA_FER_LOW_MEMORY'


def low_memory_env(env: Optional[Mapping[str, str]] = None,
                   mmap_threshold: int = LOW_MEMORY_MMAP_THRESHOLD,
                   huge_pages: bool = True) -> Dict[str, str]:
    """Return a copy of ``env`` with the low-memory allocator settings.

    An existing ``GLIBC_TUNABLES`` keeps its other tunables (a ``hugetlb``
    entry is replaced).

    Args:
        env (Mapping, optional): The environment to extend. Defaults to
            ``os.environ``.
        mmap_threshold (int): ``MALLOC_MMAP_THRESHOLD_`` in bytes.
        huge_pages (bool): Add ``glibc.malloc.hugetlb=1``.

    Returns:
        dict: The new environment.
    """
    if mmap_threshold < 0:
        raise ValueError(f'mmap_threshold={mmap_threshold} must be >= 0')
    out = dict(os.environ if env is None else env)
    out['MALLOC_MMAP_THRESHOLD_'] = str(int(mmap_threshold))
    if huge_pages:
        kept = [t for t in out.get('GLIBC_TUNABLES', '').split(':')
                if t and not t.startswith('glibc.malloc.hugetlb=')]
        out['GLIBC_TUNABLES'] = ':'.join(kept + [HUGETLB_TUNABLE])
    return out


def needs_reexec(env: Optional[Mapping[str, str]] = None) -> bool:
    """Whether the low-memory settings are missing from ``env``."""
    env = os.environ if env is None else env
    if env.get(MARKER_ENV) == '1':
        return False
    wanted = low_memory_env(env)
    return any(env.get(k) != v for k, v in wanted.items()
               if k in ('MALLOC_MMAP_THRESHOLD_', 'GLIBC_TUNABLES'))


def reexec_low_memory(argv: Optional[List[str]] = None) -> None:
    """Restart this Python command with the low-memory allocator settings.

    Returns without doing anything when the settings (or the marker of an
    earlier restart) are already in the environment, so it is safe to
    call first thing in a tool's ``main``. Otherwise it replaces the
    process (:func:`os.execve`) and does not return.

    Args:
        argv (list[str], optional): The command's arguments without the
            interpreter. Defaults to ``sys.argv``.
    """
    if not needs_reexec():
        return
    env = low_memory_env()
    env[MARKER_ENV] = '1'
    argv = list(sys.argv if argv is None else argv)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable] + argv, env)


def enable_checkpointing(cfg: Any) -> Any:
    """Switch on activation checkpointing of every block in ``cfg``'s model.

    Sets ``model.backbone.with_cp = True`` (the prompted ViT's switch).

    Args:
        cfg (mmengine.Config | dict): A training config.

    Returns:
        The same config, changed in place.

    Raises:
        ValueError: If the model's backbone is not an ``MPAPromptedViT``.
    """
    model = cfg.get('model') if hasattr(cfg, 'get') else None
    backbone = model.get('backbone') if isinstance(model, Mapping) else None
    kind = backbone.get('type') if isinstance(backbone, Mapping) else None
    if not (isinstance(kind, str) and kind.split('.')[-1] == 'MPAPromptedViT'):
        raise ValueError(
            'low-memory training sets model.backbone.with_cp, which needs '
            "backbone type 'MPAPromptedViT'; this config's backbone is "
            f'{kind if kind is not None else backbone!r}')
    backbone['with_cp'] = True
    return cfg
