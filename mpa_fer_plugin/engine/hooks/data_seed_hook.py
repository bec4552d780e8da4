"""Resumable data randomness and input-size aware image checks."""
import multiprocessing
import random
from typing import Optional, Tuple

import numpy as np
import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpretrain.registry import HOOKS

from mpa_fer_plugin.datasets.transforms import (
    LoadFERImage,
    clear_augmentation_epoch,
    set_augmentation_epoch,
)


def model_input_size(model) -> Optional[Tuple[int, int]]:
    """The image size the model's vision tower expects, if it says.

    Args:
        model (nn.Module): A (possibly wrapped) model.

    Returns:
        tuple[int, int] | None: ``(height, width)`` of the first module
        with an ``image_size`` attribute (open_clip's vision towers).
    """
    if is_model_wrapper(model):
        model = model.module
    for module in model.modules():
        size = getattr(module, 'image_size', None)
        if isinstance(size, int):
            return (size, size)
        if isinstance(size, (tuple, list)) and len(size) == 2 and all(
                isinstance(s, int) for s in size):
            return tuple(size)
    return None


def _load_transforms(dataset):
    pipeline = getattr(dataset, 'pipeline', None)
    for transform in getattr(pipeline, 'transforms', []) or []:
        if isinstance(transform, LoadFERImage):
            yield transform


@HOOKS.register_module()
class MPADataSeedHook(Hook):
    """Make the data pipeline's randomness a function of (seed, epoch, idx).

    mmengine seeds numpy/random once per process (and per worker), so the
    random crops and flips of an epoch depend on everything drawn before:
    after ``--resume`` they differ from the uninterrupted run. Before each
    training epoch this hook

    * publishes ``(runner.seed, epoch)`` to :class:`LoadFERImage` (shared
      memory, seen by forked and persistent workers), which then seeds
      ``numpy`` and ``random`` per sample from
      ``(seed, epoch, sample_idx)``, so every sample's augmentation is the
      same whatever the process, worker, rank or history;
    * reseeds the main process's ``torch``/``numpy``/``random`` from
      ``(seed, epoch, rank)`` (model-side randomness, the DataLoader's
      worker base seed).

    Resuming from an epoch checkpoint therefore replays the remaining
    epochs bit for bit. Workers started with ``spawn``/``forkserver`` do
    not see the shared state (a warning says so). It also tells every
    ``LoadFERImage`` the model's input size, for the small-image warning.

    Registered by every config base (``default_hooks.data_seed``) and, if
    a config lacks it, by the plugin; ``default_hooks.data_seed=None``
    turns it off.
    """

    priority = 'VERY_HIGH'

    def _configure(self, runner, loader_attr: str) -> None:
        loader = getattr(runner, loader_attr, None)
        dataset = getattr(loader, 'dataset', None)
        if dataset is None or isinstance(dataset, dict):
            return
        size = model_input_size(runner.model)
        for transform in _load_transforms(dataset):
            if transform.input_size is None:
                transform.input_size = size

    def before_train(self, runner) -> None:
        """Check how workers start; configure the load transforms."""
        self._configure(runner, 'train_dataloader')
        loader = runner.train_dataloader
        if getattr(loader, 'num_workers', 0) > 0:
            ctx = getattr(loader, 'multiprocessing_context', None)
            method = (ctx.get_start_method() if ctx is not None else
                      multiprocessing.get_start_method(allow_none=True))
            if method not in (None, 'fork'):
                runner.logger.warning(
                    f'data workers start with {method!r}: they do not see '
                    'the per-epoch augmentation seed, so a resumed run '
                    "may differ from an uninterrupted one (use 'fork')")

    def before_train_epoch(self, runner) -> None:
        """Publish ``(seed, epoch)`` and reseed the main process."""
        seed, epoch = int(runner.seed), int(runner.epoch)
        set_augmentation_epoch(seed, epoch)
        state = np.random.SeedSequence(
            [seed % 2**63, epoch, get_rank()]).generate_state(2)
        np.random.seed(int(state[0]))
        random.seed(int(state[1]))
        torch.manual_seed(int(state[0]) << 32 | int(state[1]))

    def after_train(self, runner) -> None:
        """Stop per-sample seeding (later inference is left alone)."""
        clear_augmentation_epoch()

    def before_val(self, runner) -> None:
        """Configure the validation load transforms."""
        self._configure(runner, 'val_dataloader')

    def before_test(self, runner) -> None:
        """Configure the test load transforms."""
        self._configure(runner, 'test_dataloader')
