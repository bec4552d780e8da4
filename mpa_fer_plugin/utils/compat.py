"""Compatibility shims for the OpenMMLab stack.

Applied on ``import mpa_fer_plugin``.

Every workaround the plugin needs for its dependencies lives in this one
module, so that it can be removed in one place once upstream releases fix
them. Because configs import the plugin through ``custom_imports``, the shims
are active for the stock mmpretrain tools (``tools/train.py``,
``tools/test.py``, ``dist_train.sh``) as well. What they change:

1. **Safe checkpoint loading.** mmengine 0.10.7 calls ``torch.load``
   without ``weights_only``; torch >= 2.6 defaults it to ``True`` and then
   refuses mmengine's own checkpoints (``--resume``, ``load_from``,
   ``tools/test.py``; open-mmlab/mmengine#1655). The shim re-registers
   mmengine's local-file and ``http(s)://`` schemes with a loader that
   keeps ``weights_only=True`` and allows exactly the types mmengine and
   the plugin put in checkpoints (:data:`CHECKPOINT_SAFE_GLOBALS`). A file
   that needs anything else is refused with :class:`UnsafeCheckpointError`
   naming the type; full unpickling (which can run code from the file) is
   an explicit opt-in: ``--trust-checkpoint`` on the tools or
   ``MPA_FER_TRUST_CHECKPOINTS=1``. A truncated or corrupt file raises
   :class:`CorruptCheckpointError` naming it. Where a checkpoint enters a
   model (mmengine's ``_load_checkpoint_to_model``), a model with a prompt
   head refuses an incomplete, non-finite, mis-typed or other-class
   checkpoint (:mod:`mpa_fer_plugin.utils.checkpoint_check`).
2. **CPU-safe distributed launch.** mmengine's ``pytorch`` and ``slurm``
   launchers call ``torch.cuda.set_device``, which fails without CUDA. When
   CUDA is unavailable the shim initialises the process group with ``gloo``
   instead (an ``nccl`` request is mapped to ``gloo``). Either way, a process
   group it creates is destroyed at interpreter exit (:func:`atexit`), as
   torch asks: a gloo group left to interpreter finalisation can abort a
   rank that has finished (``terminate called without an active
   exception``, SIGABRT) after all its work is done.
3. **DDP on CPU modules.** The Runner passes ``device_ids=[LOCAL_RANK]`` to
   ``MMDistributedDataParallel``, which torch rejects for CPU modules. When a
   wrapped module has no CUDA parameters the shim passes ``device_ids=None``.
4. **``persistent_workers`` only with workers.** mmpretrain's ``train.py``
   sets ``persistent_workers=True`` on every dataloader, which torch rejects
   when ``num_workers=0``. The shim drops the flag in that case.
5. **Version ranges are warned about, never asserted.** Versions are
   looked up under the upstream and the onedl distribution names
   (:mod:`mpa_fer_plugin.utils.stack_check`), and two distributions
   installed over each other are reported.
6. **Atomic checkpoint saves.** mmengine writes a checkpoint in place and
   :class:`~mmengine.hooks.CheckpointHook` deletes the oldest one (and the
   previous best) *before* writing the new one, so a kill in between loses
   the latest checkpoint. Local checkpoints are now written to a temporary
   file in the same folder and renamed; the hook's deletions wait until the
   new file is complete; and auto-resume (``--resume``) skips a missing or
   incomplete ``last_checkpoint`` target with a warning, falling back to
   the newest complete checkpoint of the work dir.
7. **Plugin safety hooks cannot be dropped.** Every Runner gets the
   :class:`~mpa_fer_plugin.engine.hooks.MPAClassNameCheckHook` (when the
   model has class names), the invalid-loss guard and the data-seed hook
   (see :mod:`mpa_fer_plugin.engine.hooks`), even if a config replaces
   ``custom_hooks`` or ``default_hooks``; only ``default_hooks`` entries
   set explicitly to ``None`` (``invalid_loss``, ``data_seed``) turn the
   latter two off.

All patches are idempotent and can be inspected through :data:`APPLIED`.
Each shim but 1 and 7 first checks whether the installed mmengine already
has the fix (:mod:`~mpa_fer_plugin.utils.stack_check`, a signature, probe
or source check) and is skipped there, with the reason in :data:`SKIPPED`
(onedl-mmengine 0.10.12 fixes the shared memo). The safe loader (1) stays
on every stack: onedl-mmengine loads with an allow-list too, but after any
unpickling error it falls back to a full unpickle, which runs code from
the file. The plugin's own hooks (7) are not a fix of the stack.
"""
import atexit
import copy
import functools
import os.path as osp
from datetime import timedelta
from typing import Any, Callable, Dict, List, Optional, Tuple

import torch

from . import stack_check
from .stack_check import TESTED_RANGES, check_versions  # noqa: F401

#: Names of the shims that have been applied in this process.
APPLIED: List[str] = []
#: Shims not applied because the stack has the fix: name -> reason.
SKIPPED: Dict[str, str] = {}


def load_local_checkpoint_trusted(filename: str,
                                  map_location: Optional[Any] = None) -> Any:
    """Load a local checkpoint with full unpickling (trusted files only).

    The explicit opt-in behind ``--trust-checkpoint``; the installed loader
    is :func:`~mpa_fer_plugin.utils.safe_checkpoint.load_local_checkpoint`.

    Args:
        filename (str): Path to the checkpoint file (``~`` is expanded).
        map_location (optional): Same as :func:`torch.load`.

    Returns:
        Any: The unpickled checkpoint.
    """
    path = osp.expanduser(filename)
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} can not be found.')
    return torch.load(path, map_location=map_location, weights_only=False)


def _patch_checkpoint_loader() -> None:
    import mmengine.runner.checkpoint as ckpt_mod
    from mmengine.runner.checkpoint import CheckpointLoader

    from .safe_checkpoint import load_http_checkpoint, load_local_checkpoint
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_local_checkpoint, force=True)
    CheckpointLoader.register_scheme(
        prefixes=('http://', 'https://'), loader=load_http_checkpoint,
        force=True)
    # modelzoo://, open-mmlab://, mmcls:// end in the module-level function.
    ckpt_mod.load_from_http = load_http_checkpoint
    # Whole-or-refused checks where a checkpoint enters a model.
    from .checkpoint_check import install_model_checks
    install_model_checks()
    APPLIED.append('safe_checkpoint_loading')


class _DeferredRemoval:
    """A file backend proxy that records removals instead of doing them."""

    def __init__(self, backend: Any) -> None:
        self._backend = backend
        self.pending: List[tuple] = []

    def remove(self, path: str) -> None:
        self.pending.append(('remove', path))

    def rmtree(self, path: str) -> None:
        self.pending.append(('rmtree', path))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)

    def flush(self, keep: Optional[str]) -> None:
        """Do the recorded removals, except of ``keep``."""
        for op, path in self.pending:
            if keep is not None and osp.abspath(path) == osp.abspath(keep):
                continue
            if op == 'remove' and self._backend.isfile(path):
                self._backend.remove(path)
            elif op == 'rmtree' and self._backend.isdir(path):
                self._backend.rmtree(path)
        self.pending = []


def atomic_save_checkpoint(checkpoint: dict, filename: str,
                           file_client_args: Optional[dict] = None,
                           backend_args: Optional[dict] = None) -> None:
    """mmengine's ``save_checkpoint``, atomic for local files.

    Args:
        checkpoint (dict): The checkpoint.
        filename (str): Destination.
        file_client_args (dict, optional): As in mmengine (deprecated).
        backend_args (dict, optional): As in mmengine.
    """
    from mmengine.fileio import LocalBackend, get_file_backend

    from .safe_checkpoint import atomic_torch_save
    if file_client_args is None and not str(filename).startswith('pavi://'):
        backend = get_file_backend(filename, backend_args=backend_args)
        if isinstance(backend, LocalBackend):
            atomic_torch_save(checkpoint, filename)
            return
    _ORIG_SAVE_CHECKPOINT[0](checkpoint, filename,
                             file_client_args=file_client_args,
                             backend_args=backend_args)


_ORIG_SAVE_CHECKPOINT: List[Any] = []


def _patch_atomic_saves() -> None:
    import mmengine.runner.checkpoint as ckpt_mod
    import mmengine.runner.runner as runner_mod
    from mmengine.hooks import CheckpointHook

    from .safe_checkpoint import find_latest_complete_checkpoint
    if getattr(CheckpointHook._save_checkpoint_with_step, '_mpa_atomic',
               False):
        return
    _ORIG_SAVE_CHECKPOINT.append(ckpt_mod.save_checkpoint)
    ckpt_mod.save_checkpoint = atomic_save_checkpoint
    runner_mod.save_checkpoint = atomic_save_checkpoint
    runner_mod.find_latest_checkpoint = find_latest_complete_checkpoint

    orig_step = CheckpointHook._save_checkpoint_with_step
    orig_best = CheckpointHook._save_best_checkpoint

    def _deferring(orig):
        @functools.wraps(orig)
        def wrapper(self, runner, *args, **kwargs):
            backend = getattr(self, 'file_backend', None)
            if backend is None:
                # Validation or test without training: before_train never
                # set up the backend, and mmengine's own path applies.
                return orig(self, runner, *args, **kwargs)
            proxy = _DeferredRemoval(backend)
            self.file_backend = proxy
            try:
                result = orig(self, runner, *args, **kwargs)
            finally:
                self.file_backend = backend
            # Only reached when every save above completed.
            keep = [self.last_ckpt, getattr(self, 'best_ckpt_path', None)]
            keep += list(getattr(self, 'best_ckpt_path_dict', {}).values())
            proxy.pending = [
                p for p in proxy.pending
                if osp.abspath(p[1]) not in
                {osp.abspath(k) for k in keep if k}]
            proxy.flush(None)
            return result

        wrapper._mpa_atomic = True
        return wrapper

    CheckpointHook._save_checkpoint_with_step = _deferring(orig_step)
    CheckpointHook._save_best_checkpoint = _deferring(orig_best)

    APPLIED.append('atomic_checkpoint_saves')


def _patch_plugin_hooks() -> None:
    from mmengine.runner import Runner

    orig = Runner.register_hooks
    if getattr(orig, '_mpa_enforced', False):
        return

    @functools.wraps(orig)
    def register_hooks(self, default_hooks=None, custom_hooks=None):
        from mpa_fer_plugin.engine.hooks.enforce import (
            PLUGIN_DEFAULT_HOOKS,
            ensure_plugin_hooks,
        )
        given = default_hooks
        if default_hooks is not None:
            # mmengine asserts on None for keys it does not know; a None
            # plugin key is the opt-out, so keep it out of mmengine's way.
            default_hooks = {
                k: v for k, v in default_hooks.items()
                if not (k in PLUGIN_DEFAULT_HOOKS and v is None)}
        orig(self, default_hooks, custom_hooks)
        ensure_plugin_hooks(self, given)

    register_hooks._mpa_enforced = True
    Runner.register_hooks = register_hooks
    APPLIED.append('plugin_safety_hooks')


def destroy_process_group_at_exit() -> None:
    """Destroy the default process group if one is still initialised.

    Registered with :func:`atexit` by the launch shim once it has created a
    group, so it runs while the interpreter is fully alive; a no-op when
    the group was already destroyed (or never created).
    """
    import torch.distributed as torch_dist
    if torch_dist.is_available() and torch_dist.is_initialized():
        if torch_dist.get_backend() == 'gloo':
            # Let every rank finish before any tears its sockets down
            # (a rank aborted at exit once more with the bare destroy);
            # a peer that died ends the wait after the timeout.
            try:
                torch_dist.monitored_barrier(timeout=timedelta(seconds=60))
            except Exception:  # noqa: BLE001 (exit path: never raise)
                pass
        torch_dist.destroy_process_group()


def _destroy_at_exit_once() -> None:
    if not getattr(destroy_process_group_at_exit, '_mpa_registered', False):
        atexit.register(destroy_process_group_at_exit)
        destroy_process_group_at_exit._mpa_registered = True


def _patch_dist_init() -> None:
    import mmengine.dist.utils as dist_utils
    import torch.distributed as torch_dist

    if getattr(dist_utils._init_dist_pytorch, '_mpa_cpu_safe', False):
        return
    orig_pytorch = dist_utils._init_dist_pytorch
    orig_slurm = dist_utils._init_dist_slurm

    def _cpu_backend(backend: str) -> str:
        return 'gloo' if backend in (None, 'nccl') else backend

    @functools.wraps(orig_pytorch)
    def init_dist_pytorch(backend, init_backend='torch', **kwargs):
        _destroy_at_exit_once()
        if torch.cuda.is_available() or init_backend != 'torch':
            return orig_pytorch(backend, init_backend=init_backend, **kwargs)
        torch_dist.init_process_group(backend=_cpu_backend(backend), **kwargs)

    @functools.wraps(orig_slurm)
    def init_dist_slurm(backend, port=None, init_backend='torch', **kwargs):
        _destroy_at_exit_once()
        if torch.cuda.is_available() or init_backend != 'torch':
            return orig_slurm(
                backend, port=port, init_backend=init_backend, **kwargs)
        # Let mmengine derive the rendezvous environment from SLURM_*, but
        # stop it from touching CUDA: temporarily make set_device a no-op.
        orig_set_device = torch.cuda.set_device
        torch.cuda.set_device = lambda *a, **k: None
        try:
            return orig_slurm(
                _cpu_backend(backend), port=port, init_backend=init_backend,
                **kwargs)
        finally:
            torch.cuda.set_device = orig_set_device

    init_dist_pytorch._mpa_cpu_safe = True
    init_dist_slurm._mpa_cpu_safe = True
    dist_utils._init_dist_pytorch = init_dist_pytorch
    dist_utils._init_dist_slurm = init_dist_slurm
    APPLIED.append('cpu_safe_dist_init')


def _patch_ddp_device_ids() -> None:
    from mmengine.model.wrappers import MMDistributedDataParallel

    init = MMDistributedDataParallel.__init__
    if getattr(init, '_mpa_cpu_safe', False):
        return

    @functools.wraps(init)
    def __init__(self, module, detect_anomalous_params=False, **kwargs):
        if kwargs.get('device_ids') is not None and not any(
                p.is_cuda for p in module.parameters()):
            kwargs['device_ids'] = None
            kwargs.pop('output_device', None)
        init(self, module,
             detect_anomalous_params=detect_anomalous_params, **kwargs)

    __init__._mpa_cpu_safe = True
    MMDistributedDataParallel.__init__ = __init__
    APPLIED.append('ddp_cpu_device_ids')


def fix_persistent_workers(dataloader_cfg: Any) -> Any:
    """Turn off ``persistent_workers`` in a dataloader config without workers.

    Args:
        dataloader_cfg (Any): A dataloader config dict (or a built
            ``DataLoader``, returned unchanged).

    Returns:
        Any: A copy of the config without the invalid flag, or the input.
    """
    if isinstance(dataloader_cfg, dict) and dataloader_cfg.get(
            'persistent_workers') and not dataloader_cfg.get(
                'num_workers', 0):
        dataloader_cfg = copy.copy(dataloader_cfg)
        dataloader_cfg['persistent_workers'] = False
    return dataloader_cfg


def _patch_build_dataloader() -> None:
    from mmengine.runner import FlexibleRunner, Runner

    for runner_cls in (Runner, FlexibleRunner):
        orig = runner_cls.__dict__['build_dataloader'].__func__
        if getattr(orig, '_mpa_cpu_safe', False):
            continue

        def build_dataloader(dataloader, seed=None, diff_rank_seed=False,
                             _orig=orig):
            return _orig(
                fix_persistent_workers(dataloader), seed=seed,
                diff_rank_seed=diff_rank_seed)

        functools.update_wrapper(build_dataloader, orig)
        build_dataloader._mpa_cpu_safe = True
        runner_cls.build_dataloader = staticmethod(build_dataloader)
    APPLIED.append('persistent_workers_without_workers')


def _patch_dataset_copy() -> None:
    """Give each dataset copy its own deepcopy memo.

    mmengine's ``BaseDataset._copy_without_annotation(memo=dict())`` (used
    by ``get_subset``/``get_subset_``) shares one default memo between all
    calls. When a later object is allocated at the address of an object
    copied before, ``copy.deepcopy`` finds that address in the stale memo
    and returns the old copy: a subset's ``pipeline`` became an earlier
    dataset (CI: "'RAFDB' object is not callable"). A fresh memo per call
    is what the method means.
    """
    from mmengine.dataset import BaseDataset

    orig = BaseDataset._copy_without_annotation
    if getattr(orig, '_mpa_fresh_memo', False):
        return

    @functools.wraps(orig)
    def _copy_without_annotation(self, memo=None):
        return orig(self, {} if memo is None else memo)

    _copy_without_annotation._mpa_fresh_memo = True
    BaseDataset._copy_without_annotation = _copy_without_annotation
    APPLIED.append('dataset_copy_fresh_memo')


#: Every shim in order: name, patch, and the check that the stack already
#: has the fix (None: always applied).
SHIMS: Tuple[Tuple[str, Callable[[], None], Optional[Callable[[], bool]]],
             ...] = (
    ('safe_checkpoint_loading', _patch_checkpoint_loader, None),
    ('atomic_checkpoint_saves', _patch_atomic_saves,
     stack_check.atomic_saves_fixed),
    ('plugin_safety_hooks', _patch_plugin_hooks, None),
    ('cpu_safe_dist_init', _patch_dist_init, stack_check.dist_init_fixed),
    ('ddp_cpu_device_ids', _patch_ddp_device_ids,
     stack_check.ddp_device_ids_fixed),
    ('persistent_workers_without_workers', _patch_build_dataloader,
     stack_check.dataloader_fixed),
    ('dataset_copy_fresh_memo', _patch_dataset_copy,
     stack_check.dataset_copy_fixed),
)


def apply_all() -> List[str]:
    """Apply every shim the installed stack needs, once (idempotent).

    Returns:
        list[str]: The names of the shims applied in this process (the
        others are in :data:`SKIPPED`).
    """
    if not APPLIED:
        for name, patch, fixed in SHIMS:
            if fixed is not None and fixed():
                SKIPPED[name] = (f'{stack_check.detect_stack()} stack: '
                                 f'{fixed.__name__} is true')
                continue
            patch()
        check_versions()
    return APPLIED


apply_all()
