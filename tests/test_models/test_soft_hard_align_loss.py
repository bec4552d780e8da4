"""Tests of SoftHardAlignLoss (L_t = L_ta + L_pa, Eqs. 1-4)."""
import math

import pytest
import torch
from mmpretrain.registry import MODELS

import mpa_fer_plugin  # noqa: F401


def cos(a, b):
    return float(a @ b) / (float(a.norm()) * float(b.norm()))


def contrastive_reference(soft, hard, tau):
    """Eqs. 1-2 with explicit loops."""
    num_classes = soft.shape[0]
    total = 0.0
    for d in range(num_classes):
        den = sum(math.exp(cos(soft[c], hard[d]) / tau)
                  for c in range(num_classes))
        total -= math.log(math.exp(cos(soft[d], hard[d]) / tau) / den)
    return total / num_classes


def prompt_reference(soft, hard, mode, tau):
    if mode == 'contrastive':
        return contrastive_reference(soft, hard, tau)
    s = [v / v.norm() for v in soft]
    h = [v / v.norm() for v in hard]
    if mode == 'l1':  # L1 norm per class / D, averaged over classes
        return sum(float((a - b).abs().sum()) / a.numel()
                   for a, b in zip(s, h)) / len(s)
    return 1 - sum(float(a @ b) for a, b in zip(s, h)) / len(s)


@pytest.fixture
def inputs():
    gen = torch.Generator().manual_seed(0)
    return [torch.randn(5, 12, generator=gen, dtype=torch.float64),
            torch.randn(5, 12, generator=gen, dtype=torch.float64),
            torch.randn(5, 8, generator=gen, dtype=torch.float64),
            torch.randn(5, 8, generator=gen, dtype=torch.float64)]


@pytest.mark.parametrize('prompt_level', ['l1', 'contrastive', 'cosine'])
@pytest.mark.parametrize('tau', [0.07, 0.5])
def test_matches_equations(inputs, prompt_level, tau):
    soft_t, hard_t, soft_f, hard_f = inputs
    loss = MODELS.build(
        dict(type='SoftHardAlignLoss', tau=tau, prompt_level=prompt_level,
             token_weight=0.7, prompt_weight=1.3, loss_weight=2.0))
    expected = 2.0 * (
        0.7 * contrastive_reference(soft_t, hard_t, tau) +
        1.3 * prompt_reference(soft_f, hard_f, prompt_level, tau))
    out = loss(soft_t, hard_t, soft_f, hard_f)
    assert out.dim() == 0
    assert float(out) == pytest.approx(expected, rel=1e-9)


def test_token_level_off(inputs):
    _, _, soft_f, hard_f = inputs
    loss = MODELS.build(dict(type='SoftHardAlignLoss', token_weight=0,
                             prompt_level='cosine'))
    out = loss(None, None, soft_f, hard_f)
    assert float(out) == pytest.approx(
        prompt_reference(soft_f, hard_f, 'cosine', 0.07), rel=1e-9)
    on = MODELS.build(dict(type='SoftHardAlignLoss'))
    with pytest.raises(ValueError, match='needs soft_tokens'):
        on(None, None, soft_f, hard_f)


def test_aligned_prompts_have_low_loss():
    hard = torch.eye(4)
    loss = MODELS.build(dict(type='SoftHardAlignLoss'))
    aligned = float(loss(hard * 3, hard, hard * 2, hard))
    shuffled = float(loss(hard.flip(0), hard, hard.flip(0), hard))
    assert aligned < 1e-3 < shuffled


def test_gradients_reach_soft_side_only(inputs):
    soft_t, hard_t, soft_f, hard_f = [x.clone().requires_grad_()
                                      for x in inputs]
    MODELS.build(dict(type='SoftHardAlignLoss'))(
        soft_t, hard_t.detach(), soft_f, hard_f.detach()).backward()
    assert soft_t.grad.abs().sum() > 0 and soft_f.grad.abs().sum() > 0
    assert hard_t.grad is None and hard_f.grad is None


@pytest.mark.parametrize('kwargs, match', [
    (dict(tau=0), 'tau=0'),
    (dict(tau=-0.1), 'tau=-0.1'),
    (dict(token_pooling='max'), "token_pooling='max'"),
    (dict(prompt_level='l2'), "prompt_level='l2'"),
    (dict(token_weight=-1), 'token_weight=-1'),
    (dict(loss_weight='1'), "loss_weight='1'"),
    (dict(token_weight=0, prompt_weight=0), 'both 0'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MODELS.build(dict(type='SoftHardAlignLoss', **kwargs))
