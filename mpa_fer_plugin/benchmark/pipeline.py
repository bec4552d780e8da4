"""Throughput of the training data pipeline on generated faces."""
import copy
import os.path as osp
import time
from typing import Dict

from .models import ROOT


def pipeline_throughput(num_images: int, folder: str,
                        passes: int = 2) -> Dict[str, float]:
    """Images/s of the training data pipeline on generated 100x100 faces.

    The pipeline is the one of ``configs/_base_/datasets/synthetic_fer.py``
    (load JPEG, RandomResizedCrop to 224, flip, RandomErasing, pack), then
    mmengine's collate and the CLIP ``ClsDataPreprocessor``, in the main
    process (``num_workers=0``).

    Args:
        num_images (int): Generated training faces.
        folder (str): Where to write them.
        passes (int): Passes over the data; the first is a warm-up.

    Returns:
        dict[str, float]: ``pipeline_images_per_s`` (transforms only) and
        ``loader_images_per_s`` (with collate and preprocessor).
    """
    from mmengine.config import Config
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import DATASETS, MODELS

    from mpa_fer_plugin.datasets.synthetic import generate_synthetic_fer
    generate_synthetic_fer(folder, num_train=num_images, num_test=0,
                           size=100, seed=0)
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs/_base_/datasets/synthetic_fer.py'))
    init_default_scope('mmpretrain')
    ds_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    ds_cfg.data_root = folder
    dataset = DATASETS.build(ds_cfg)
    preprocessor = MODELS.build(cfg.data_preprocessor)
    batch = cfg.train_dataloader.batch_size
    best_pipe = best_loader = float('inf')
    for _ in range(passes):
        start = time.perf_counter()
        items = [dataset[i] for i in range(len(dataset))]
        mid = time.perf_counter()
        for i in range(0, len(items), batch):
            preprocessor(pseudo_collate(items[i:i + batch]), training=True)
        end = time.perf_counter()
        best_pipe = min(best_pipe, mid - start)
        best_loader = min(best_loader, end - start)
    return dict(pipeline_images_per_s=len(dataset) / best_pipe,
                loader_images_per_s=len(dataset) / best_loader,
                pipeline_images=len(dataset))
