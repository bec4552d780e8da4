"""Compute (or load) the class prototypes of MPA-FER before training."""
import copy
import logging
import os.path as osp
import time
from typing import Any, List, Optional, Tuple

import torch
import torch.nn as nn
from mmengine.dist import broadcast, is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmpretrain.registry import DATASETS, HOOKS
from torch.utils.data import Dataset

from ..prototype_cache import (
    cache_path,
    load_prototypes,
    prototype_cache_key,
    save_prototypes,
)
from ..prototypes import (
    RelabeledDataset,
    build_prototype_dataloader,
    check_class_coverage,
    check_samples_per_class,
    compute_prototypes,
    dataset_files,
    dataset_labels,
    prototype_meta,
    select_per_class,
    shuffle_labels,
    subset,
    with_test_pipeline,
)


def find_prototype_head(model: nn.Module) -> Optional[nn.Module]:
    """Return the module holding the prototypes (``set_prototypes``)."""
    if is_model_wrapper(model):
        model = model.module
    head = getattr(model, 'head', None)
    if hasattr(head, 'set_prototypes'):
        return head
    for module in model.modules():
        if hasattr(module, 'set_prototypes') and hasattr(
                module, 'has_prototypes'):
            return module
    return None


def _find_pipeline(dataset_cfg: Any) -> Optional[list]:
    if not isinstance(dataset_cfg, dict):
        return None
    if dataset_cfg.get('pipeline') is not None:
        return list(dataset_cfg['pipeline'])
    if isinstance(dataset_cfg.get('dataset'), dict):
        return _find_pipeline(dataset_cfg['dataset'])
    if dataset_cfg.get('datasets'):
        return _find_pipeline(dataset_cfg['datasets'][0])
    return None


@HOOKS.register_module()
class PrototypeHook(Hook):
    """Set the class prototypes ``p_c`` (MPA-FER Eq. 6) before training.

    Before the first training iteration, the hook computes the mean frozen
    (prompt-free) CLIP global feature of every class over the training set,
    loaded with the test pipeline (no augmentation), and writes it into the
    head's prototype buffer (:meth:`MPAPromptHead.set_prototypes`), which
    ``loss_proto`` (Eq. 7) pulls the prompted features towards.

    * Nothing is computed when the head already has prototypes: after
      ``--resume`` or ``load_from`` (mmengine loads checkpoints before
      ``before_train``, and the prototypes are a persistent buffer), or
      with ``head.prototypes='file.pt'``; nor when the head has no
      ``loss_proto``.
    * Results are cached in ``cache_dir`` under a name derived from what
      they depend on (CLIP image tower, preprocessing, image list and
      labels, pipeline, ``samples_per_class``, ``seed``, ``normalize``; see
      :func:`prototype_cache_key`), so a restart or another run with the
      same inputs reuses them. A cache file that does not match (e.g. an
      explicit ``cache_file`` from another model) is recomputed with a
      warning.
    * Under DDP each rank encodes its shard of the images and the sums are
      all-reduced (:func:`compute_prototypes`); rank 0 checks the cache,
      broadcasts a hit and writes the file. All ranks end up identical.

    ``tools/misc/build_prototypes.py`` runs the same computation offline.

    Args:
        samples_per_class (int): Images per class averaged over; ``-1``
            uses all (``"Full"`` in the paper's Table 3). Defaults to -1.
        seed (int): Seed of the per-class subset when
            ``samples_per_class > 0``. Defaults to 0.
        normalize (bool): L2-normalise each feature before averaging
            (docs/method.md). Defaults to False.
        cache_dir (str, optional): Folder of the cache files; None uses
            ``{work_dir}/prototypes``. Set e.g. ``'data/prototypes'`` to
            share them between experiments. Defaults to None.
        cache_file (str, optional): Use this exact file instead of a
            key-named file in ``cache_dir``. Defaults to None.
        pipeline (list[dict], optional): Loading pipeline; None uses the
            test (or val) dataloader's pipeline. Defaults to None.
        batch_size (int, optional): Images per batch and rank; None uses
            the training batch size. Defaults to None.
        num_workers (int, optional): Loader workers; None uses the training
            loader's. Defaults to None.
        shuffle_labels (bool): Control experiment: the labels of the
            chosen images are permuted (seeded, class counts kept) before
            averaging, so every prototype is the mean of a random set of
            images (:func:`~mpa_fer_plugin.engine.prototypes.shuffle_labels`
            ). Part of the cache key. Defaults to False.
        shuffle_seed (int): Seed of that permutation. Defaults to 0.
    """

    priority = 'NORMAL'

    def __init__(self,
                 samples_per_class: int = -1,
                 seed: int = 0,
                 normalize: bool = False,
                 cache_dir: Optional[str] = None,
                 cache_file: Optional[str] = None,
                 pipeline: Optional[List[dict]] = None,
                 batch_size: Optional[int] = None,
                 num_workers: Optional[int] = None,
                 shuffle_labels: bool = False,
                 shuffle_seed: int = 0) -> None:
        check_samples_per_class(samples_per_class)
        if batch_size is not None and (isinstance(batch_size, bool)
                                       or not isinstance(batch_size, int)
                                       or batch_size < 1):
            raise ValueError(f'batch_size={batch_size!r} must be None or an '
                             'int >= 1')
        self.samples_per_class = samples_per_class
        self.seed = int(seed)
        self.normalize = bool(normalize)
        self.cache_dir = cache_dir
        self.cache_file = cache_file
        self.pipeline = None if pipeline is None else list(pipeline)
        self.batch_size = batch_size
        self.num_workers = num_workers
        if not isinstance(shuffle_labels, bool):
            raise TypeError(f'shuffle_labels={shuffle_labels!r} must be a '
                            'bool')
        self.shuffle_labels = shuffle_labels
        self.shuffle_seed = int(shuffle_seed)

    # -- what to read ---------------------------------------------------
    @staticmethod
    def _loader_cfg(runner, name: str) -> Optional[dict]:
        cfg = getattr(runner, 'cfg', None) or {}
        value = cfg.get(name, None)
        if not isinstance(value, dict):
            value = getattr(runner, f'_{name}', None)
        return value if isinstance(value, dict) else None

    def _test_pipeline(self, runner) -> list:
        if self.pipeline is not None:
            return self.pipeline
        for name in ('test_dataloader', 'val_dataloader'):
            loader = self._loader_cfg(runner, name)
            pipeline = _find_pipeline(loader.get('dataset')) if loader \
                else None
            if pipeline is not None:
                return pipeline
        raise ValueError(
            'PrototypeHook needs the test pipeline (no augmentation) to load '
            'the training images, but the config has no test_dataloader or '
            'val_dataloader with a pipeline; pass pipeline=[...] to the '
            'hook')

    def _dataset(self, runner, pipeline: list) -> Tuple[Dataset, dict]:
        """Build the training set with ``pipeline`` (and its loader cfg)."""
        loader = self._loader_cfg(runner, 'train_dataloader') or {}
        dataset_cfg = loader.get('dataset')
        if isinstance(dataset_cfg, dict):
            dataset = DATASETS.build(with_test_pipeline(dataset_cfg,
                                                        pipeline))
        else:
            dataset = copy.copy(getattr(runner.train_dataloader, 'dataset',
                                        dataset_cfg))
            if dataset is None:
                raise ValueError('PrototypeHook found no training dataset')
            if hasattr(dataset, 'pipeline'):
                from mmengine.dataset import Compose
                dataset.pipeline = Compose(copy.deepcopy(pipeline))
            else:
                print_log('PrototypeHook: the training dataset is a built '
                          f'{type(dataset).__name__} without a pipeline '
                          'attribute; its own loading is used',
                          logger='current', level=logging.WARNING)
        if hasattr(dataset, 'full_init'):
            dataset.full_init()
        return dataset, loader

    # -- the computation ---------------------------------------------------
    def prepare(self,
                runner,
                force: bool = False,
                progress: bool = False,
                out: Optional[str] = None) -> Tuple[torch.Tensor,
                                                    Optional[str]]:
        """Load the cached prototypes or compute and cache them.

        Call it on every rank (it uses collectives under DDP).

        Args:
            runner (Runner): The runner (model, configs, work_dir).
            force (bool): Recompute even if a matching cache exists.
                Defaults to False.
            progress (bool): Show a progress bar on rank 0. Defaults to
                False.
            out (str, optional): Write to this file instead of the cache
                file. Defaults to None.

        Returns:
            tuple[Tensor, str | None]: The prototypes ``[C, D]`` (float32,
            on the model's device) and, on rank 0, the file they are in.
        """
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        head = find_prototype_head(model)
        if head is None:
            raise TypeError(f'{type(model).__name__} has no head with '
                            'set_prototypes (MPAPromptHead)')
        classnames = list(head.classnames)
        shape = tuple(head.prototypes.shape)
        device = head.prototypes.device

        pipeline = self._test_pipeline(runner)
        dataset, loader = self._dataset(runner, pipeline)
        labels = dataset_labels(dataset)
        check_class_coverage(labels, classnames)
        indices = select_per_class(labels, len(classnames),
                                   self.samples_per_class, self.seed)
        chosen = [labels[i] for i in indices]
        if self.shuffle_labels:
            chosen = shuffle_labels(chosen, self.shuffle_seed)

        path, cached = None, None
        if is_main_process():
            key, parts = prototype_cache_key(
                model, dataset_files(dataset, indices), chosen, classnames,
                pipeline, self.samples_per_class, self.seed, self.normalize)
            cache_dir = self.cache_dir or osp.join(runner.work_dir,
                                                   'prototypes')
            path = out or self.cache_file or cache_path(cache_dir, key)
            if not force:
                cached = load_prototypes(path, key, parts, shape)
        hit = torch.tensor([int(cached is not None)], device=device)
        broadcast(hit, src=0)
        if int(hit):
            protos = cached.to(device) if cached is not None else \
                torch.zeros(shape, device=device)
            broadcast(protos, src=0)
            if is_main_process():
                print_log(f'PrototypeHook: loaded class prototypes from '
                          f'{path}', logger='current')
            return protos, path

        start = time.time()
        if is_main_process():
            print_log(f'PrototypeHook: computing {shape[0]} class prototypes'
                      f' from {len(indices)} training images (frozen CLIP, '
                      'test pipeline)', logger='current')
        images = subset(dataset, indices)
        if self.shuffle_labels:
            print_log('PrototypeHook: control run, prototypes from shuffled '
                      f'labels (seed {self.shuffle_seed})', logger='current',
                      level=logging.WARNING)
            images = RelabeledDataset(images, chosen)
        dataloader = build_prototype_dataloader(
            images,
            batch_size=self.batch_size or loader.get('batch_size', 32),
            num_workers=loader.get('num_workers', 0)
            if self.num_workers is None else self.num_workers,
            collate_fn=loader.get('collate_fn'))
        protos = compute_prototypes(
            model, dataloader, shape[0], normalize=self.normalize,
            classnames=classnames, feat_dim=shape[1], progress=progress)
        if is_main_process():
            save_prototypes(path, protos, key, parts,
                            meta=prototype_meta(chosen, classnames))
            print_log(f'PrototypeHook: prototypes computed in '
                      f'{time.time() - start:.1f} s and saved to {path}',
                      logger='current')
        return protos, path

    def before_train(self, runner) -> None:
        """Set the prototypes unless they are set already or not needed."""
        head = find_prototype_head(runner.model)
        if head is None:
            print_log('PrototypeHook: the model has no prototype head; '
                      'nothing to do', logger='current', level=logging.WARNING)
            return
        if getattr(head, 'loss_proto', True) is None:
            if is_main_process():
                print_log('PrototypeHook: the head has no loss_proto; '
                          'prototypes are not needed', logger='current')
            return
        if head.has_prototypes:
            if is_main_process():
                print_log('PrototypeHook: the head already has prototypes '
                          '(from a resumed or loaded checkpoint, or '
                          'head.prototypes); not recomputing',
                          logger='current')
            return
        protos, _ = self.prepare(runner)
        head.set_prototypes(protos)
