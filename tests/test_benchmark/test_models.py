"""benchmark.models: the zero-shot reference at the prompted length."""
import open_clip
import torch
import torch.nn.functional as F

from mpa_fer_plugin.benchmark.models import QUICK_CLIP, zero_shot_at_length


def _clip_and_text():
    torch.manual_seed(0)
    model = open_clip.model.CLIP(**QUICK_CLIP).eval()
    text = F.normalize(torch.randn(7, QUICK_CLIP['embed_dim']), dim=-1)
    return model, text


def test_no_extra_tokens_is_open_clip_zero_shot():
    model, text = _clip_and_text()
    x = torch.randn(5, 3, 32, 32)
    with torch.no_grad():
        ref = (100 * model.encode_image(x, normalize=True) @ text.t())
        got = zero_shot_at_length(model, text, 0)(x)
    assert torch.equal(got, ref.argmax(dim=-1))


def test_every_block_sees_the_longer_sequence():
    model, text = _clip_and_text()
    lengths = []
    for block in model.visual.transformer.resblocks:
        block.register_forward_hook(
            lambda m, args, out: lengths.append(tuple(out.shape)))
    with torch.no_grad():
        pred = zero_shot_at_length(model, text, 3)(torch.randn(2, 3, 32, 32))
    # 16 patches + class token + 3 extra tokens, batch first, width 64.
    assert lengths == [(2, 20, 64)] * len(model.visual.transformer.resblocks)
    assert pred.shape == (2, ) and pred.max() < 7
