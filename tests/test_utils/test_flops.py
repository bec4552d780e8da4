"""FLOPs at the real input size, attention included."""
import pytest
import torch
import torch.nn as nn
from mmengine.analysis import FlopAnalyzer

from mpa_fer_plugin.utils.flops import (
    config_flops,
    native_mha_flop_jit,
    random_clip_weights,
    sdpa_flop_jit,
)


class _SDPA(nn.Module):

    def forward(self, q, k, v):
        return nn.functional.scaled_dot_product_attention(q, k, v)


def _count(module, inputs):
    analyzer = FlopAnalyzer(module, inputs)
    analyzer.set_op_handle('aten::scaled_dot_product_attention',
                           sdpa_flop_jit)
    analyzer.set_op_handle('aten::_native_multi_head_attention',
                           native_mha_flop_jit)
    analyzer.unsupported_ops_warnings(False)
    return analyzer.total(), analyzer.unsupported_ops()


def test_attention_handles_count_both_matmuls():
    q = torch.zeros(2, 4, 5, 8)
    k = torch.zeros(2, 4, 7, 8)
    v = torch.zeros(2, 4, 7, 6)
    total, unsupported = _count(_SDPA(), (q, k, v))
    assert total == 2 * 4 * 5 * 7 * (8 + 6)
    assert 'aten::scaled_dot_product_attention' not in unsupported
    # nn.MultiheadAttention, frozen in eval: the fused fast path.
    mha = nn.MultiheadAttention(16, 2, batch_first=True).eval()
    mha.requires_grad_(False)
    x = torch.zeros(3, 9, 16)

    class SelfAttn(nn.Module):
        def __init__(self):
            super().__init__()
            self.mha = mha

        def forward(self, x):
            return self.mha(x, x, x, need_weights=False)[0]

    with torch.no_grad():
        total, unsupported = _count(SelfAttn(), (x, ))
    assert total == 3 * (9 * 16 * 48 + 2 * 9 * 9 * 16 + 9 * 16 * 16)


def test_config_flops_at_the_real_input_size(small_world):
    res = config_flops(small_world['config'])
    assert res['input_shape'] == (3, 64, 64)
    assert not {op for op in res['unsupported_ops'] if 'attention' in op}
    # Tiny CLIP (config of tools/misc/make_tiny_clip.py via the demo
    # config): 3 layers, width 96, 1 + 4 prompts + 8x8 patches = 69 tokens.
    tokens, width, layers = 69, 96, 3
    attn = layers * 2 * tokens * tokens * width
    linear = layers * 12 * tokens * width * width
    assert res['flops'] > attn + linear
    assert res['flops'] < 1.3 * (attn + linear) + 3 * 64 * 64 * width
    assert res['text_flops'] > 0
    assert res['trainable_params'] > 0
    with pytest.raises(ValueError, match='shape'):
        config_flops(small_world['config'], shape=(64, ))


def test_random_clip_weights_clears_every_pretrained():
    cfg = dict(clip=dict(model_name='ViT-B-16', pretrained='x.pt'),
               backbone=dict(clip=dict(pretrained='y.pt')), head=dict())
    random_clip_weights(cfg)
    assert cfg['clip']['pretrained'] is None
    assert cfg['backbone']['clip']['pretrained'] is None
