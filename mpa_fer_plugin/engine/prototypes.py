"""Class prototypes of MPA-FER (Eq. 6), computed over a training set.

``p_c = (1/|S_c|) sum_{i in S_c} z^g_{i,frozen}``: the mean projected class
token of the frozen, prompt-free CLIP image tower over the training images
``S_c`` of class ``c`` (docs/method.md). The images go through the test
pipeline (no augmentation); ``S_c`` is the whole class or a seeded subset of
``samples_per_class`` images.

Under DDP every rank encodes its own shard (``DefaultSampler`` with
``shuffle=False, round_up=False``, so no image is seen twice) and the
per-class sums and counts are summed across ranks with
:func:`mmengine.dist.all_reduce`; every rank ends with the same prototypes,
equal to what one process computes. Sums are accumulated in float64 so the
result does not depend on how the images are split.

The per-image features are averaged as :func:`class_mean_prototypes` does,
but from reduced sums, since the features of one class are spread over the
ranks.
"""
import copy
from typing import Any, Dict, List, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmengine.dist import all_reduce, get_world_size, is_main_process
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from mmengine.utils import ProgressBar
from torch.utils.data import DataLoader, Dataset, Subset

#: Dataset wrappers that repeat or re-sample their inner dataset; prototypes
#: are computed on the inner dataset so that no image counts twice.
REPEATING_WRAPPERS = ('RepeatDataset', 'ClassBalancedDataset')


def _type_name(cfg: dict) -> str:
    kind = cfg.get('type', '')
    return kind if isinstance(kind, str) else getattr(kind, '__name__', '')


def with_test_pipeline(dataset_cfg: dict, pipeline: Sequence[dict]) -> dict:
    """Return a copy of a dataset config that loads with ``pipeline``.

    Repeating wrappers (:data:`REPEATING_WRAPPERS`) are removed; other
    wrappers (``ConcatDataset``, ``KFoldDataset``) are kept and the pipeline
    is set on the datasets they wrap.

    Args:
        dataset_cfg (dict): A dataset config (e.g. the training dataset).
        pipeline (Sequence[dict]): The pipeline to use (the test pipeline).

    Returns:
        dict: The new dataset config.
    """
    if not isinstance(dataset_cfg, dict):
        raise TypeError(f'dataset_cfg must be a config dict, got '
                        f'{type(dataset_cfg).__name__}')
    cfg = copy.deepcopy(dataset_cfg)
    if _type_name(cfg) in REPEATING_WRAPPERS:
        return with_test_pipeline(cfg['dataset'], pipeline)
    if 'datasets' in cfg and 'pipeline' not in cfg:
        cfg['datasets'] = [with_test_pipeline(d, pipeline)
                           for d in cfg['datasets']]
    elif isinstance(cfg.get('dataset'), dict) and 'pipeline' not in cfg:
        cfg['dataset'] = with_test_pipeline(cfg['dataset'], pipeline)
    else:
        cfg['pipeline'] = copy.deepcopy(list(pipeline))
    return cfg


def dataset_labels(dataset: Dataset) -> List[int]:
    """Return the single label of every sample, without loading images.

    Args:
        dataset (Dataset): An mmengine/mmpretrain dataset (``get_gt_labels``,
            ``get_cat_ids`` or ``get_data_info`` with ``gt_label``).

    Returns:
        list[int]: One label per sample.
    """
    if hasattr(dataset, 'get_gt_labels'):
        return [int(v) for v in dataset.get_gt_labels()]
    if hasattr(dataset, 'get_cat_ids'):
        return [int(dataset.get_cat_ids(i)[0]) for i in range(len(dataset))]
    if hasattr(dataset, 'get_data_info'):
        return [int(dataset.get_data_info(i)['gt_label'])
                for i in range(len(dataset))]
    raise TypeError(f'cannot read labels of a {type(dataset).__name__}: it '
                    'has no get_gt_labels, get_cat_ids or get_data_info')


def dataset_files(dataset: Dataset, indices: Sequence[int]) -> List[str]:
    """Return the image path (or ``''``) of the given samples."""
    if not hasattr(dataset, 'get_data_info'):
        return [''] * len(indices)
    return [str(dataset.get_data_info(i).get('img_path', ''))
            for i in indices]


def check_class_coverage(labels: Sequence[int],
                         classnames: Sequence[str]) -> List[int]:
    """Count the images of every class; fail if a class has none.

    Args:
        labels (Sequence[int]): Labels of the training images.
        classnames (Sequence[str]): Class names in label order.

    Returns:
        list[int]: Images per class.
    """
    num_classes = len(classnames)
    bad = sorted({int(v) for v in labels if not 0 <= int(v) < num_classes})
    if bad:
        raise ValueError(f'labels {bad} are outside [0, {num_classes}) '
                         f'(classes {tuple(classnames)})')
    counts = torch.bincount(torch.as_tensor(list(labels), dtype=torch.long),
                            minlength=num_classes).tolist()
    empty = [f'{classnames[c]!r} (label {c})' for c, n in enumerate(counts)
             if n == 0]
    if empty:
        raise ValueError(
            f'no training image for class {", ".join(empty)}: its prototype '
            '(MPA-FER Eq. 6) cannot be computed. Check the annotations of '
            'the training set, or the class list of the head.')
    return counts


def check_samples_per_class(samples_per_class: int) -> None:
    """Raise ``ValueError`` unless the value is -1 or an int >= 1."""
    if isinstance(samples_per_class, bool) or not isinstance(
            samples_per_class, int) or not (samples_per_class == -1
                                            or samples_per_class >= 1):
        raise ValueError(f'samples_per_class={samples_per_class!r} must be '
                         '-1 (all images) or an int >= 1')


def select_per_class(labels: Sequence[int], num_classes: int,
                     samples_per_class: int, seed: int = 0) -> List[int]:
    """Pick the images ``S_c`` the prototypes average over.

    Args:
        labels (Sequence[int]): Labels of all training images.
        num_classes (int): Number of classes.
        samples_per_class (int): ``-1`` for every image; otherwise at most
            this many images per class, drawn without replacement by a
            generator seeded with ``(seed, class)``, so a class's subset does
            not depend on the other classes.
        seed (int): Seed of the draw. Defaults to 0.

    Returns:
        list[int]: Sorted indices into ``labels``.
    """
    check_samples_per_class(samples_per_class)
    if samples_per_class == -1:
        return list(range(len(labels)))
    labels_t = torch.as_tensor(list(labels), dtype=torch.long)
    generator = torch.Generator()
    chosen = []
    for c in range(num_classes):
        idx = (labels_t == c).nonzero().view(-1)
        if idx.numel() > samples_per_class:
            generator.manual_seed(int(seed) * 1000003 + c)
            perm = torch.randperm(idx.numel(), generator=generator)
            idx = idx[perm[:samples_per_class]]
        chosen.append(idx)
    return sorted(torch.cat(chosen).tolist())


def shuffle_labels(labels: Sequence[int], seed: int = 0) -> List[int]:
    """Permute labels across images (the shuffled-label control).

    The class counts stay the same, so each "prototype" becomes the mean of
    a random set of images of the class's size: it no longer describes its
    class. Deterministic for a given ``(labels, seed)``.

    Args:
        labels (Sequence[int]): Labels of the images ``S`` (in order).
        seed (int): Seed of the permutation. Defaults to 0.

    Returns:
        list[int]: ``labels[perm[i]]`` for a seeded permutation ``perm``.
    """
    labels = [int(v) for v in labels]
    gen = torch.Generator().manual_seed(int(seed))
    perm = torch.randperm(len(labels), generator=gen).tolist()
    return [labels[p] for p in perm]


class RelabeledDataset(Dataset):
    """A dataset whose packed samples carry other labels (for controls).

    ``dataset[i]`` is loaded as usual and its ``data_samples.gt_label`` is
    replaced with ``labels[i]``.

    Args:
        dataset (Dataset): A dataset of packed samples (``PackInputs``).
        labels (Sequence[int]): One label per sample.
    """

    def __init__(self, dataset: Dataset, labels: Sequence[int]) -> None:
        if len(labels) != len(dataset):
            raise ValueError(f'{len(labels)} labels for a dataset of '
                             f'{len(dataset)} samples')
        self.dataset = dataset
        self.labels = [int(v) for v in labels]

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> Any:
        item = self.dataset[index]
        sample = item.get('data_samples') if isinstance(item, dict) else None
        if sample is None or not hasattr(sample, 'set_gt_label'):
            raise TypeError('RelabeledDataset needs packed samples (a dict '
                            'with a DataSample under "data_samples")')
        sample.set_gt_label(self.labels[index])
        return item


def subset(dataset: Dataset, indices: Sequence[int]) -> Dataset:
    """Restrict a dataset to ``indices`` (``get_subset`` when supported)."""
    if len(indices) == len(dataset) and list(indices) == list(
            range(len(dataset))):
        return dataset
    try:
        return dataset.get_subset(list(indices))
    except (AttributeError, NotImplementedError):
        return Subset(dataset, list(indices))


def build_prototype_dataloader(dataset: Union[dict, Dataset],
                               batch_size: int,
                               num_workers: int = 0,
                               collate_fn: Optional[Any] = None
                               ) -> DataLoader:
    """Build the sharded, non-shuffled loader the prototypes are read with.

    Uses :meth:`mmengine.runner.Runner.build_dataloader` with
    ``DefaultSampler(shuffle=False, round_up=False)``: under DDP rank ``r``
    gets samples ``r, r + W, ...`` and, unlike the default
    ``round_up=True``, no sample is repeated to even out the shards.

    Args:
        dataset (dict | Dataset): A dataset or its config.
        batch_size (int): Images per batch and rank.
        num_workers (int): Loader workers. Defaults to 0.
        collate_fn (Any, optional): Collate function or its config; None
            uses ``default_collate``. Defaults to None.

    Returns:
        DataLoader: The loader.
    """
    if isinstance(batch_size, bool) or not isinstance(
            batch_size, int) or batch_size < 1:
        raise ValueError(f'batch_size={batch_size!r} must be an int >= 1')
    cfg = dict(
        dataset=dataset,
        batch_size=batch_size,
        num_workers=num_workers,
        persistent_workers=False,
        drop_last=False,
        sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
        collate_fn=collate_fn or dict(type='default_collate'))
    return Runner.build_dataloader(cfg)


def _frozen_encoder(model: torch.nn.Module):
    backbone = getattr(model, 'backbone', None)
    encode = getattr(backbone, 'forward_frozen', None)
    if encode is None:
        raise TypeError(
            f'{type(model).__name__} has no backbone.forward_frozen (the '
            'prompt-free CLIP image path that prototypes are computed with);'
            ' use MPAFERClassifier with MPAPromptedViT')
    return encode


def compute_prototypes(model: torch.nn.Module,
                       dataloader: DataLoader,
                       num_classes: int,
                       normalize: bool = False,
                       classnames: Optional[Sequence[str]] = None,
                       feat_dim: Optional[int] = None,
                       progress: bool = False) -> torch.Tensor:
    """Compute the class prototypes of Eq. 6, reduced across ranks.

    Every batch goes through ``model.data_preprocessor`` (test mode) and
    ``model.backbone.forward_frozen``; the global features are summed per
    class. Sums and counts are then all-reduced, so every rank returns the
    same tensor. Call it on every rank, each with its shard of the data.

    Args:
        model (nn.Module): The classifier (or its DDP wrapper).
        dataloader (DataLoader): This rank's shard, e.g. from
            :func:`build_prototype_dataloader`.
        num_classes (int): Number of classes ``C``.
        normalize (bool): L2-normalise each feature before averaging (as
            :func:`class_mean_prototypes`). Defaults to False.
        classnames (Sequence[str], optional): Names for error messages.
        feat_dim (int, optional): Feature width ``D``; None reads
            ``model.backbone.embed_dim``. Defaults to None.
        progress (bool): Show a progress bar on rank 0. Defaults to False.

    Returns:
        Tensor: float32 prototypes ``[C, D]`` on the model's device.
    """
    if is_model_wrapper(model):
        model = model.module
    encode = _frozen_encoder(model)
    dim = feat_dim or getattr(model.backbone, 'embed_dim', None)
    if not dim:
        raise ValueError('feat_dim is needed: the backbone has no embed_dim')
    names = list(classnames) if classnames is not None else [
        str(c) for c in range(num_classes)]
    device = next(model.parameters()).device
    sums = torch.zeros(num_classes, dim, dtype=torch.float64, device=device)
    counts = torch.zeros(num_classes, dtype=torch.int64, device=device)
    bar = ProgressBar(len(dataloader)) if progress and \
        is_main_process() else None
    with torch.no_grad():
        for data in dataloader:
            data = model.data_preprocessor(data, False)
            feats = encode(data['inputs'])[0].float()
            labels = torch.cat([s.gt_label for s in data['data_samples']])
            labels = labels.to(device=feats.device, dtype=torch.long)
            if labels.numel() and not 0 <= int(labels.min()) <= int(
                    labels.max()) < num_classes:
                raise ValueError(f'labels {labels.tolist()} are outside '
                                 f'[0, {num_classes})')
            if normalize:
                feats = F.normalize(feats, dim=-1)
            sums.index_add_(0, labels, feats.double())
            counts += torch.bincount(labels, minlength=num_classes)
            if bar is not None:
                bar.update()
    if bar is not None:
        bar.file.write('\n')
    if get_world_size() > 1:
        all_reduce(sums, op='sum')
        all_reduce(counts, op='sum')
    empty = [f'{names[c]!r} (label {c})' for c in range(num_classes)
             if int(counts[c]) == 0]
    if empty:
        raise ValueError(f'no image of class {", ".join(empty)} was seen: '
                         'its prototype cannot be computed')
    return (sums / counts.unsqueeze(1).double()).float()


def prototype_meta(labels: Sequence[int],
                   classnames: Sequence[str]) -> Dict[str, Any]:
    """Describe the images the prototypes average over (stored in files)."""
    counts = torch.bincount(torch.as_tensor(list(labels), dtype=torch.long),
                            minlength=len(classnames)).tolist()
    return dict(classes=list(classnames), counts=counts,
                num_images=len(labels))
