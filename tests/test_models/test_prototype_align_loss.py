"""Tests of PrototypeAlignLoss (L_v, Eq. 7) and the prototypes (Eq. 6)."""
import pytest
import torch
from mmpretrain.registry import MODELS

import mpa_fer_plugin  # noqa: F401
from mpa_fer_plugin.models.losses import class_mean_prototypes


@pytest.fixture
def data():
    gen = torch.Generator().manual_seed(0)
    feats = torch.randn(6, 8, generator=gen, dtype=torch.float64)
    protos = torch.randn(3, 8, generator=gen, dtype=torch.float64)
    labels = torch.tensor([0, 2, 1, 1, 0, 2])
    return feats, protos, labels


def reference(feats, protos, labels, metric, normalize, reduction):
    dists = []
    for z, y in zip(feats, labels):
        p = protos[int(y)]
        if metric == 'cosine':
            dists.append(1 - float(z @ p) / float(z.norm() * p.norm()))
        else:
            if normalize:
                z, p = z / z.norm(), p / p.norm()
            dists.append(float((z - p).abs().sum()) / z.numel())
    total = sum(dists)
    return total / len(dists) if reduction == 'mean' else total


@pytest.mark.parametrize('metric', ['cosine', 'l1'])
@pytest.mark.parametrize('normalize', [True, False])
@pytest.mark.parametrize('reduction', ['mean', 'sum'])
def test_matches_equation(data, metric, normalize, reduction):
    feats, protos, labels = data
    loss = MODELS.build(
        dict(type='PrototypeAlignLoss', metric=metric, normalize=normalize,
             reduction=reduction, loss_weight=1.5))
    expected = 1.5 * reference(feats, protos, labels, metric, normalize,
                               reduction)
    assert float(loss(feats, protos, labels)) == pytest.approx(expected,
                                                               rel=1e-9)


def test_zero_at_prototype(data):
    _, protos, labels = data
    loss = MODELS.build(dict(type='PrototypeAlignLoss'))
    assert float(loss(2 * protos[labels], protos, labels)) == \
        pytest.approx(0, abs=1e-9)


def test_gradient_reaches_features_only(data):
    feats, protos, labels = data
    feats.requires_grad_()
    MODELS.build(dict(type='PrototypeAlignLoss'))(feats, protos,
                                                  labels).backward()
    assert feats.grad.abs().sum() > 0


def test_shape_mismatch(data):
    feats, protos, labels = data
    loss = MODELS.build(dict(type='PrototypeAlignLoss'))
    with pytest.raises(ValueError, match=r'prototypes \(3, 4\)'):
        loss(feats, protos[:, :4], labels)


def test_class_mean_prototypes(data):
    feats, _, labels = data
    protos = class_mean_prototypes(feats, labels, 3)
    for c in range(3):
        torch.testing.assert_close(protos[c], feats[labels == c].mean(0))
    normed = class_mean_prototypes(feats, labels, 3, normalize=True)
    unit = feats / feats.norm(dim=1, keepdim=True)
    torch.testing.assert_close(normed[1], unit[labels == 1].mean(0))
    with pytest.raises(ValueError, match=r'classes \[3\] have no samples'):
        class_mean_prototypes(feats, labels, 4)
    with pytest.raises(ValueError, match='num_classes=2'):
        class_mean_prototypes(feats, labels, 2)


@pytest.mark.parametrize('kwargs, match', [
    (dict(metric='l2'), "metric='l2'"),
    (dict(reduction='none'), "reduction='none'"),
    (dict(loss_weight=-1), 'loss_weight=-1'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MODELS.build(dict(type='PrototypeAlignLoss', **kwargs))
