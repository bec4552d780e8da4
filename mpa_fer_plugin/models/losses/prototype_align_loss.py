"""Prototype-guided visual alignment L_v (MPA-FER Eqs. 6-7)."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.registry import MODELS

#: Distance options M of Eq. 7 (docs/method.md).
PROTOTYPE_METRICS = ('l1', 'cosine')


def class_mean_prototypes(feats: torch.Tensor,
                          labels: torch.Tensor,
                          num_classes: int,
                          normalize: bool = False) -> torch.Tensor:
    """Class prototypes as means of frozen global features (Eq. 6).

    ``p_c = (1/|S_c|) sum_{i in S_c} z^g_{i,frozen}``.

    Args:
        feats (Tensor): Frozen (prompt-free) global features ``[N, D]``.
        labels (Tensor): Their labels ``[N]``.
        num_classes (int): Number of classes ``C``.
        normalize (bool): L2-normalise each feature before averaging
            (docs/method.md). Defaults to False.

    Returns:
        Tensor: Prototypes ``[C, D]``.
    """
    labels = labels.long().view(-1)
    if feats.dim() != 2 or feats.shape[0] != labels.shape[0]:
        raise ValueError(f'feats {tuple(feats.shape)} and labels '
                         f'{tuple(labels.shape)} do not match')
    if normalize:
        feats = F.normalize(feats, dim=-1)
    counts = torch.bincount(labels, minlength=num_classes)
    if counts.numel() > num_classes:
        raise ValueError(f'labels reach {int(labels.max())}, but '
                         f'num_classes={num_classes}')
    empty = (counts == 0).nonzero().view(-1).tolist()
    if empty:
        raise ValueError(f'classes {empty} have no samples for prototypes')
    sums = feats.new_zeros(num_classes, feats.shape[1])
    sums.index_add_(0, labels, feats)
    return sums / counts.unsqueeze(1).to(feats.dtype)


def prototype_distance(feats: torch.Tensor, protos: torch.Tensor,
                       metric: str = 'cosine',
                       normalize: bool = True) -> torch.Tensor:
    """Per-sample distance ``M(z^g_i, p_{y_i})`` of Eq. 7.

    Args:
        feats (Tensor): Prompted global features ``[B, D]``.
        protos (Tensor): The prototype of each sample's label ``[B, D]``.
        metric (str): ``'cosine'`` (``1 - cos``) or ``'l1'`` (mean absolute
            difference over dimensions). Defaults to ``'cosine'``.
        normalize (bool): L2-normalise both sides first (no effect on the
            cosine distance). Defaults to True.

    Returns:
        Tensor: ``[B]``.
    """
    if metric == 'cosine':
        return 1 - F.cosine_similarity(feats, protos, dim=-1)
    if metric == 'l1':
        if normalize:
            feats = F.normalize(feats, dim=-1)
            protos = F.normalize(protos, dim=-1)
        return (feats - protos).abs().mean(dim=-1)
    raise ValueError(f'metric={metric!r} must be one of {PROTOTYPE_METRICS}')


@MODELS.register_module()
class PrototypeAlignLoss(nn.Module):
    """Prototype-guided visual alignment ``L_v`` (Eq. 7).

    From `MPA-FER <https://arxiv.org/abs/2506.21017>`_ §3.5:
    ``L_v = sum_i M(z^g_i, p_{y_i})`` pulls each prompted global feature
    towards the frozen-CLIP prototype of its class (Eq. 6,
    :func:`class_mean_prototypes`). It only reaches the visual prompts.

    Args:
        metric (str): ``'cosine'`` or ``'l1'`` (see
            :func:`prototype_distance`). Defaults to ``'cosine'``.
        normalize (bool): L2-normalise features and prototypes before the
            metric (matters for ``'l1'`` only). Defaults to True.
        reduction (str): ``'mean'`` over the batch (S4) or ``'sum'`` (Eq. 7
            as written). Defaults to ``'mean'``.
        loss_weight (float): Weight (``gamma`` of Eq. 12). Defaults to 1.0.
    """

    def __init__(self,
                 metric: str = 'cosine',
                 normalize: bool = True,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if metric not in PROTOTYPE_METRICS:
            raise ValueError(f'metric={metric!r} must be one of '
                             f'{PROTOTYPE_METRICS}')
        if reduction not in ('mean', 'sum'):
            raise ValueError(f'reduction={reduction!r} must be "mean" or '
                             '"sum"')
        if not isinstance(loss_weight, (int, float)) or loss_weight < 0:
            raise ValueError(f'loss_weight={loss_weight!r} must be a number '
                             '>= 0')
        self.metric = metric
        self.normalize = normalize
        self.reduction = reduction
        self.loss_weight = float(loss_weight)

    def forward(self, feats: torch.Tensor, prototypes: torch.Tensor,
                labels: torch.Tensor) -> torch.Tensor:
        """Compute ``L_v``.

        Args:
            feats (Tensor): Prompted global features ``[B, D]``.
            prototypes (Tensor): All class prototypes ``[C, D]``.
            labels (Tensor): Labels ``[B]``.

        Returns:
            Tensor: The weighted scalar loss.
        """
        if prototypes.dim() != 2 or prototypes.shape[1] != feats.shape[1]:
            raise ValueError(f'prototypes {tuple(prototypes.shape)} do not '
                             f'match features {tuple(feats.shape)}')
        protos = prototypes.to(feats.dtype)[labels.long().view(-1)]
        dist = prototype_distance(feats, protos, self.metric, self.normalize)
        loss = dist.mean() if self.reduction == 'mean' else dist.sum()
        return self.loss_weight * loss
