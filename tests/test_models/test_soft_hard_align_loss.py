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


def prompt_reference(soft, hard, mode, tau, l1_reduction='sum'):
    if mode == 'contrastive':
        return contrastive_reference(soft, hard, tau)
    s = [v / v.norm() for v in soft]
    h = [v / v.norm() for v in hard]
    if mode == 'l1':  # Eq. 3: L1 norm per class, averaged over classes
        scale = 1 / s[0].numel() if l1_reduction == 'mean' else 1.0
        return sum(float((a - b).abs().sum()) * scale
                   for a, b in zip(s, h)) / len(s)
    return 1 - sum(float(a @ b) for a, b in zip(s, h)) / len(s)


@pytest.fixture
def inputs():
    gen = torch.Generator().manual_seed(0)
    return [torch.randn(5, 12, generator=gen, dtype=torch.float64),
            torch.randn(5, 12, generator=gen, dtype=torch.float64),
            torch.randn(5, 8, generator=gen, dtype=torch.float64),
            torch.randn(5, 8, generator=gen, dtype=torch.float64)]


@pytest.mark.parametrize('prompt_level, l1_reduction', [
    ('l1', 'sum'), ('l1', 'mean'), ('contrastive', 'sum'),
    ('cosine', 'sum')])
@pytest.mark.parametrize('tau', [0.07, 0.5])
def test_matches_equations(inputs, prompt_level, l1_reduction, tau):
    soft_t, hard_t, soft_f, hard_f = inputs
    loss = MODELS.build(
        dict(type='SoftHardAlignLoss', tau=tau, prompt_level=prompt_level,
             l1_reduction=l1_reduction, token_weight=0.7,
             prompt_weight=1.3, loss_weight=2.0))
    expected = 2.0 * (
        0.7 * contrastive_reference(soft_t, hard_t, tau) + 1.3 *
        prompt_reference(soft_f, hard_f, prompt_level, tau, l1_reduction))
    out = loss(soft_t, hard_t, soft_f, hard_f)
    assert out.dim() == 0
    assert float(out) == pytest.approx(expected, rel=1e-9)


def test_l1_on_hand_computed_tensors():
    """Eq. 3 on unit vectors whose differences are known by hand."""
    from mpa_fer_plugin.models.losses import prompt_alignment_loss
    soft = torch.tensor([[1., 0., 0., 0.], [0., 3., 4., 0.]])
    hard = torch.tensor([[0., 2., 0., 0.], [0., 0., 0., 1.]])
    # normalised: class 0: (1,0,0,0) vs (0,1,0,0): |diff|_1 = 2
    # class 1: (0,.6,.8,0) vs (0,0,0,1): |diff|_1 = .6 + .8 + 1 = 2.4
    out = prompt_alignment_loss(soft, hard, 'l1')
    assert float(out) == pytest.approx((2 + 2.4) / 2)
    out_mean = prompt_alignment_loss(soft, hard, 'l1', l1_reduction='mean')
    assert float(out_mean) == pytest.approx((2 + 2.4) / 2 / 4)
    default = MODELS.build(dict(type='SoftHardAlignLoss', token_weight=0))
    assert default.l1_reduction == 'sum'
    assert float(default(None, None, soft, hard)) == pytest.approx(2.2)
    with pytest.raises(ValueError, match="l1_reduction='max'"):
        prompt_alignment_loss(soft, hard, 'l1', l1_reduction='max')


def test_token_level_on_hand_computed_tensors():
    """Eqs. 1-2 on orthogonal/opposite vectors with a closed form."""
    from mpa_fer_plugin.models.losses import token_alignment_loss
    soft = torch.tensor([[2., 0.], [0., 1.]])
    hard = torch.tensor([[1., 0.], [1., 1.]])
    # hard 0 vs soft (0, 1): cos 1, 0; hard 1: cos 1/sqrt2, 1/sqrt2
    tau = 0.5
    r = 1 / math.sqrt(2)
    l0 = -math.log(math.exp(1 / tau) / (math.exp(1 / tau) + 1))
    l1 = -math.log(math.exp(r / tau) / (2 * math.exp(r / tau)))
    assert float(token_alignment_loss(soft, hard, tau)) == pytest.approx(
        (l0 + l1) / 2, rel=1e-6)


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
    (dict(l1_reduction='none'), "l1_reduction='none'"),
    (dict(token_weight=-1), 'token_weight=-1'),
    (dict(loss_weight='1'), "loss_weight='1'"),
    (dict(token_weight=0, prompt_weight=0), 'both 0'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MODELS.build(dict(type='SoftHardAlignLoss', **kwargs))
