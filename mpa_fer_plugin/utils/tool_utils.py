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
