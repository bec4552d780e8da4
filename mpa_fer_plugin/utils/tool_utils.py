"""Helpers shared by the command-line tools in ``tools/``."""
from mmengine.config import Config


def set_default_dataloader_cfg(cfg: Config,
                               field: str,
                               no_pin_memory: bool = False,
                               no_persistent_workers: bool = False,
                               recheck_only: bool = False) -> None:
    """Fill mmpretrain's dataloader defaults, CPU-safe.

    Like mmpretrain's tools, set ``collate_fn=default_collate`` and turn on
    ``persistent_workers``, but only when ``num_workers > 0`` (torch rejects
    it otherwise).

    Args:
        cfg (Config): The config, modified in place.
        field (str): e.g. ``'train_dataloader'``.
        no_pin_memory (bool): Force ``pin_memory=False``.
        no_persistent_workers (bool): Force ``persistent_workers=False``.
        recheck_only (bool): Only fix an invalid ``persistent_workers``.
    """
    loader = cfg.get(field, None)
    if loader is None:
        return
    workers = loader.get('num_workers', 0)
    if not recheck_only:
        loader.setdefault('persistent_workers', workers > 0)
        loader.setdefault('collate_fn', dict(type='default_collate'))
        if no_pin_memory:
            loader['pin_memory'] = False
        if no_persistent_workers:
            loader['persistent_workers'] = False
    if workers == 0 and loader.get('persistent_workers'):
        loader['persistent_workers'] = False


#: Environment variable that lets every loading path unpickle arbitrary
#: objects from checkpoints (trusted files only); set by
#: ``--trust-checkpoint``.
TRUST_ENV = 'MPA_FER_TRUST_CHECKPOINTS'


def add_runtime_args(parser) -> None:
    """Add the runtime flags every tool in ``tools/`` shares.

    ``--threads`` fixes the number of CPU threads (results on CPU depend
    on it); ``--trust-checkpoint`` opts in to full unpickling of
    checkpoint files.

    Args:
        parser (argparse.ArgumentParser): The tool's parser.
    """
    parser.add_argument(
        '--threads', type=int, default=None,
        help='CPU threads for torch/OpenMP (results on CPU depend on it)')
    parser.add_argument(
        '--trust-checkpoint', action='store_true',
        help='load checkpoints with full unpickling, which can run code '
        f'from the file (trusted files only; or set {TRUST_ENV}=1)')


def apply_runtime_args(args) -> None:
    """Apply the flags of :func:`add_runtime_args` to this process.

    Args:
        args (argparse.Namespace): Parsed arguments.
    """
    import os
    if getattr(args, 'trust_checkpoint', False):
        os.environ[TRUST_ENV] = '1'
    threads = getattr(args, 'threads', None)
    if threads is not None:
        if threads < 1:
            raise ValueError(f'--threads={threads} must be >= 1')
        import torch
        os.environ['OMP_NUM_THREADS'] = str(threads)
        torch.set_num_threads(threads)
