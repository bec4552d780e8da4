"""Per-image predictions of a checkpoint on a split, through mmengine.

:func:`collect_predictions` runs the same path as ``tools/test.py`` (the
config's model, ``load_from`` the checkpoint, mmengine's ``Runner.test``)
with mmengine's :class:`~mmengine.evaluator.DumpResults` appended, so the
scores it returns are those ``tools/test.py --out x.pkl`` dumps and the
metrics it returns are those ``tools/test.py`` prints. The Runner path
never applies a checkpoint's calibration temperature: the scores are the
model's softmax at temperature 1. :func:`load_result_file` reads such a
``.pkl`` back.
"""
import copy
import os
import os.path as osp
import tempfile
from typing import Dict, List, Optional, Sequence

import numpy as np

#: The splits :func:`collect_predictions` can run on.
SPLITS = ('train', 'val', 'test')


def predictions_from_samples(samples: Sequence[dict]) -> Dict[str, object]:
    """Arrays from the data samples that ``DumpResults`` writes.

    Args:
        samples (Sequence[dict]): Each with ``pred_score``, ``gt_label``
            and, when the pipeline kept it, ``img_path``.

    Returns:
        dict: ``scores`` [N, C] float64, ``labels`` [N] int64 and
        ``names`` (the image paths, or ``'#<index>'``).
    """
    if not samples:
        raise ValueError('no predictions (empty result list)')
    scores, labels, names = [], [], []
    for i, s in enumerate(samples):
        if 'pred_score' not in s or 'gt_label' not in s:
            raise ValueError(f'result {i} has no pred_score/gt_label (keys: '
                             f'{sorted(s)}); dump predictions with '
                             'tools/test.py --out x.pkl --out-item pred')
        score = s['pred_score']
        score = score.numpy() if hasattr(score, 'numpy') else score
        label = s['gt_label']
        label = label.numpy() if hasattr(label, 'numpy') else label
        scores.append(np.asarray(score, np.float64).reshape(-1))
        labels.append(int(np.asarray(label).reshape(-1)[0]))
        names.append(str(s.get('img_path') or f'#{s.get("sample_idx", i)}'))
    return dict(scores=np.stack(scores), labels=np.array(labels, np.int64),
                names=names)


def load_result_file(path: str) -> Dict[str, object]:
    """Read a ``tools/test.py --out x.pkl`` prediction dump.

    Args:
        path (str): The ``.pkl`` file.

    Returns:
        dict: As :func:`predictions_from_samples`.
    """
    import mmengine
    if not osp.isfile(path):
        raise FileNotFoundError(f'result file not found: {path}')
    samples = mmengine.load(path)
    if not isinstance(samples, list):
        raise ValueError(f'{path}: expected the list of predictions that '
                         'tools/test.py --out x.pkl writes, got '
                         f'{type(samples).__name__}')
    try:
        return predictions_from_samples(samples)
    except ValueError as e:
        raise ValueError(f'{path}: {e}') from None


def split_config(cfg, split: str):
    """A copy of ``cfg`` whose test loop runs on ``split``.

    ``'test'`` keeps the config; ``'val'`` uses ``val_dataloader``;
    ``'train'`` uses ``train_dataloader``'s dataset with the test
    pipeline (no augmentation) and no shuffling.

    Args:
        cfg (Config): An mmengine config.
        split (str): One of :data:`SPLITS`.

    Returns:
        Config: The modified copy.
    """
    if split not in SPLITS:
        raise ValueError(f'split={split!r} must be one of {SPLITS}')
    cfg = copy.deepcopy(cfg)
    if split == 'val':
        if not cfg.get('val_dataloader'):
            raise ValueError('the config has no val_dataloader')
        cfg.test_dataloader = copy.deepcopy(cfg.val_dataloader)
    elif split == 'train':
        from ..engine.prototypes import with_test_pipeline
        loader = copy.deepcopy(cfg.test_dataloader)
        loader.dataset = with_test_pipeline(
            cfg.train_dataloader.dataset,
            cfg.test_dataloader.dataset.get('pipeline'))
        cfg.test_dataloader = loader
    return cfg


def collect_predictions(config, checkpoint: Optional[str],
                        split: str = 'test',
                        cfg_options: Optional[dict] = None,
                        work_dir: Optional[str] = None,
                        keep_metrics: bool = True) -> Dict[str, object]:
    """Run a checkpoint on a split with mmengine's Runner.

    Args:
        config (str | Config): The config the checkpoint was trained with.
        checkpoint (str, optional): The checkpoint; None tests the model as
            built (e.g. zero-shot CLIP), like ``tools/test.py CONFIG none``.
        split (str): ``'test'`` (the config's test loop), ``'val'`` or
            ``'train'``. Defaults to ``'test'``.
        cfg_options (dict, optional): Merged into the config.
        work_dir (str, optional): Runner work dir (logs). Defaults to a
            temporary folder that is removed.
        keep_metrics (bool): Run the config's own test metrics as well
            (returned as ``metrics``; they are what ``tools/test.py``
            prints). Only for ``split='test'``. Defaults to True.

    Returns:
        dict: ``scores``, ``labels``, ``names`` (see
        :func:`predictions_from_samples`), ``classes`` (the dataset's
        ``metainfo['classes']``) and ``metrics`` (dict, possibly empty).
    """
    import mmengine
    from mmengine.config import Config
    from mmengine.evaluator import DumpResults
    from mmengine.runner import Runner

    from ..utils.tool_utils import set_default_dataloader_cfg

    if isinstance(config, (str, os.PathLike)):
        if not osp.isfile(config):
            raise FileNotFoundError(f'config file not found: {config}')
        cfg = Config.fromfile(os.fspath(config))
    else:
        cfg = copy.deepcopy(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if checkpoint is not None and not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint file not found: {checkpoint}')
    cfg = split_config(cfg, split)
    cfg.load_from = checkpoint
    cfg.launcher = 'none'
    if not (keep_metrics and split == 'test'):
        cfg.test_evaluator = [dict(type='Accuracy', topk=(1, ))]
    tmp = tempfile.mkdtemp(prefix='mpa_fer_pred_')
    try:
        cfg.work_dir = work_dir or osp.join(tmp, 'work_dir')
        cfg.visualizer = dict(type='UniversalVisualizer',
                              vis_backends=[dict(type='LocalVisBackend')])
        # mmengine names the logger and visualizer instances after the
        # config file and the second; a second run within that second
        # would reuse the first one's, whose folder is already removed.
        cfg.experiment_name = f'mpa_fer_pred_{osp.basename(tmp)}'
        set_default_dataloader_cfg(cfg, 'test_dataloader')
        runner = Runner.from_cfg(cfg)
        dump = osp.join(tmp, 'pred.pkl')
        runner.test_evaluator.metrics.append(DumpResults(out_file_path=dump))
        metrics = runner.test()
        classes = tuple(runner.test_dataloader.dataset.metainfo['classes'])
        preds = predictions_from_samples(mmengine.load(dump))
    finally:
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)
    if preds['scores'].shape[1] != len(classes):
        raise ValueError(f'{preds["scores"].shape[1]} scores per image but '
                         f'{len(classes)} classes {classes}')
    preds.update(classes=classes, metrics=dict(metrics or {}))
    return preds


def dataset_names(dataset_cfg) -> List[str]:
    """The image names (paths) of a dataset config, without loading images.

    Args:
        dataset_cfg (dict): A dataset config (any wrapper).

    Returns:
        list[str]: ``img_path`` (or ``img_name``) of every sample.
    """
    from mmpretrain.registry import DATASETS
    cfg = copy.deepcopy(dict(dataset_cfg))
    cfg.pop('pipeline', None)
    dataset = DATASETS.build(cfg)
    names = []
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        names.append(str(info.get('img_path') or info.get('img_name')
                         or f'#{i}'))
    return names


def check_held_out(cfg, split: str) -> int:
    """Refuse a calibration split that is, or overlaps, the test split.

    Args:
        cfg (Config): The config.
        split (str): ``'val'`` or ``'train'``; ``'test'`` is refused.

    Returns:
        int: How many images the split has (none shared with the test
        split).
    """
    if split == 'test':
        raise ValueError(
            'refusing to fit the temperature on the test split: it would '
            'tune the reported calibration on the data it is reported on. '
            'Use a held-out split (--split val with a config whose '
            'val_dataloader is not the test set, e.g. '
            'configs/protocols/holdout_demo.py)')
    held = dataset_names(split_config(cfg, split).test_dataloader.dataset)
    test = set(dataset_names(cfg.test_dataloader.dataset))
    shared = sorted(set(held) & test)
    if shared:
        from ..datasets.base_fer import list_entries
        raise ValueError(
            f'refusing to fit the temperature on the {split} split: '
            f'{len(shared)} of its {len(held)} images are also in the test '
            f'split ({list_entries(shared)}). In RAF-DB-style configs the '
            'validation loader is often the test set; carve a validation '
            'split from train (HoldoutSplit, e.g. '
            'configs/protocols/holdout_demo.py)')
    return len(held)


def calibrate_checkpoint(config, checkpoint: str, split: str = 'val',
                         cfg_options: Optional[dict] = None,
                         num_bins: int = 15, write: bool = True) -> dict:
    """Fit a temperature on a held-out split and store it in the checkpoint.

    Args:
        config (str | Config): The config the checkpoint was trained with.
        checkpoint (str): The checkpoint; rewritten atomically with
            ``meta['calibration']`` when ``write``.
        split (str): The held-out split (``'val'``; ``'test'`` and splits
            sharing images with the test split are refused).
        cfg_options (dict, optional): Merged into the config.
        num_bins (int): ECE bins. Defaults to 15.
        write (bool): Store the record in the checkpoint. Defaults to True.

    Returns:
        dict: The calibration record (see
        :func:`~.calibration.calibration_record`).
    """
    from mmengine.config import Config

    from .calibration import (
        calibration_record,
        logits_from_probs,
        store_calibration,
    )
    cfg = Config.fromfile(os.fspath(config)) if isinstance(
        config, (str, os.PathLike)) else copy.deepcopy(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    num = check_held_out(cfg, split)
    preds = collect_predictions(cfg, checkpoint, split, keep_metrics=False)
    ds = split_config(cfg, split).test_dataloader.dataset
    where = f'{osp.basename(str(config))} {split} split ({ds.get("type")}'
    if ds.get('part'):
        where += f' part={ds.get("part")}, val_fraction=' \
            f'{ds.get("val_fraction")}, seed={ds.get("seed")}'
    where += f', {num} images)'
    record = calibration_record(logits_from_probs(preds['scores']),
                                preds['labels'], where, num_bins)
    if write:
        store_calibration(checkpoint, record)
    return record
