"""What the installed OpenMMLab stack is, and which shims it still needs.

Two stack sets are tested (``requirements/upstream.txt`` and
``requirements/onedl.txt``, docs/compatibility.md). They install the same
import packages (``mmengine``, ``mmcv``, ``mmpretrain``) under different
distribution names, so versions are looked up by every known distribution
name (:data:`DISTRIBUTIONS`), and two distributions owning one import
package (one installed over the other) are reported.

The ``*_fixed`` functions are the feature checks of
:mod:`mpa_fer_plugin.utils.compat`: each returns True when the installed
mmengine already behaves as the shim would make it, and the shim is then
skipped. They read the behaviour (a signature default, a probe call) or
the source of the function the shim would replace; a check that cannot
tell returns False, so the shim applies.
"""
import inspect
import warnings
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Callable, Dict, List, Optional, Tuple

#: Tested version ranges: ``package -> (min inclusive, max exclusive)``.
#: The lower and upper ends are the versions of the two stack sets.
TESTED_RANGES: Dict[str, Tuple[str, str]] = {
    'mmengine': ('0.10.7', '0.11.0'),
    'mmpretrain': ('1.2.0', '1.4.0'),
    'mmcv': ('2.2.0', '2.4.0'),
    'open_clip_torch': ('3.3.0', '4.0.0'),
    'torch': ('2.13.0', '2.15.0'),
    'torchvision': ('0.28.0', '0.30.0'),
}

#: Distribution names that install each import package.
DISTRIBUTIONS: Dict[str, Tuple[str, ...]] = {
    'mmengine': ('mmengine', 'onedl-mmengine'),
    'mmcv': ('mmcv', 'mmcv-lite', 'onedl-mmcv'),
    'mmpretrain': ('mmpretrain', 'onedl-mmpretrain'),
}


def dist_version(dist: str) -> Optional[str]:
    """The installed version of distribution ``dist``, or None."""
    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def installed(package: str) -> List[Tuple[str, str]]:
    """``(distribution, version)`` of every installed provider of a package.

    Args:
        package (str): A key of :data:`TESTED_RANGES` (an import package or
            a distribution name).

    Returns:
        list[tuple[str, str]]: Usually one entry; several when
        distributions of both stacks are installed over each other.
    """
    found = []
    for dist in DISTRIBUTIONS.get(package, (package, )):
        ver = dist_version(dist)
        if ver is not None:
            found.append((dist, ver))
    return found


def detect_stack() -> str:
    """Which stack set provides mmengine, mmcv and mmpretrain here.

    Returns:
        str: ``'onedl'`` or ``'upstream'`` when every installed provider
        is of one set, ``'mixed'`` when both are present, ``'none'``
        when neither is.
    """
    kinds = {dist.startswith('onedl-')
             for package in DISTRIBUTIONS for dist, _ in installed(package)}
    if not kinds:
        return 'none'
    if len(kinds) == 2:
        return 'mixed'
    return 'onedl' if kinds.pop() else 'upstream'


def _in_range(found: str, low: str, high: str) -> bool:
    from mmengine.utils import digit_version
    return digit_version(low) <= digit_version(found) < digit_version(high)


def check_versions() -> List[str]:
    """Warn (never assert) about versions outside the tested ranges.

    Also warns when two distributions provide one import package (for
    example ``mmcv-lite`` pulled upstream ``mmengine`` over
    ``onedl-mmengine``): the files on disk are then those of whichever
    was installed last.

    Returns:
        list[str]: The warning messages that were emitted.
    """
    messages = []
    for package, (low, high) in TESTED_RANGES.items():
        found = installed(package)
        if len(found) > 1:
            names = ', '.join(f'{d}=={v}' for d, v in found)
            messages.append(
                f'{names} are all installed and share the import package '
                f'{package}; uninstall them and install one stack set '
                '(requirements/upstream.txt or requirements/onedl.txt, '
                'docs/compatibility.md).')
        for dist, ver in found:
            if not _in_range(ver, low, high):
                messages.append(
                    f'mpa_fer_plugin was tested with {package}>={low},'
                    f'<{high}, but {dist}=={ver} is installed; things may '
                    'break.')
    for msg in messages:
        warnings.warn(msg, stacklevel=2)
    return messages


def _source(obj: Any) -> str:
    try:
        return inspect.getsource(inspect.unwrap(obj))
    except (OSError, TypeError):
        return ''


def dataset_copy_fixed(method: Optional[Callable] = None) -> bool:
    """``BaseDataset._copy_without_annotation`` has no shared memo default.

    Upstream mmengine 0.10.7 declares ``memo=dict()`` (one dict shared by
    every call); onedl-mmengine 0.10.12 declares ``memo=None``.
    """
    if method is None:
        from mmengine.dataset import BaseDataset
        method = BaseDataset._copy_without_annotation
    param = inspect.signature(method).parameters.get('memo')
    return param is not None and param.default is None


def dataloader_fixed(build: Optional[Callable] = None) -> bool:
    """``Runner.build_dataloader`` accepts ``persistent_workers`` without
    workers (probe: a 2-item list dataset, ``num_workers=0``)."""
    if build is None:
        from mmengine.runner import Runner
        build = Runner.build_dataloader
    try:
        loader = build(dict(
            dataset=[0, 1], sampler=dict(type='DefaultSampler',
                                         shuffle=False),
            batch_size=1, num_workers=0, persistent_workers=True))
    except ValueError:
        return False
    return not getattr(loader, 'persistent_workers', True)


def dist_init_fixed(*funcs: Callable) -> bool:
    """mmengine's ``pytorch``/``slurm`` launchers do not call
    ``torch.cuda.set_device`` without checking for CUDA first."""
    if not funcs:
        import mmengine.dist.utils as dist_utils
        funcs = (dist_utils._init_dist_pytorch, dist_utils._init_dist_slurm)
    for func in funcs:
        src = _source(func)
        if not src or ('cuda.set_device' in src
                       and 'cuda.is_available' not in src):
            return False
    return True


def ddp_device_ids_fixed(init: Optional[Callable] = None) -> bool:
    """``MMDistributedDataParallel.__init__`` handles ``device_ids`` of a
    CPU module itself (mentions ``device_ids`` and ``is_cuda``)."""
    if init is None:
        from mmengine.model.wrappers import MMDistributedDataParallel
        init = MMDistributedDataParallel.__init__
    src = _source(init)
    return 'device_ids' in src and 'is_cuda' in src


def atomic_saves_fixed(save: Optional[Callable] = None,
                       hook_step: Optional[Callable] = None) -> bool:
    """Checkpoints are written to a temporary file and renamed, and the
    checkpoint hook removes old files only after saving the new one."""
    if save is None or hook_step is None:
        from mmengine.hooks import CheckpointHook
        from mmengine.runner.checkpoint import save_checkpoint
        save = save_checkpoint if save is None else save
        hook_step = (CheckpointHook._save_checkpoint_with_step
                     if hook_step is None else hook_step)
    save_src, hook_src = _source(save), _source(hook_step)
    if not ('os.replace' in save_src or '.rename(' in save_src):
        return False
    removal = hook_src.find('.remove(')
    return removal == -1 or removal > hook_src.find('save_checkpoint(')
