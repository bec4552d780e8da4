"""Tests of the CGLA pointing measure on the tiny CLIP (16 patches, 4x4)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmpretrain.registry import MODELS

import mpa_fer_plugin  # noqa: F401
from mpa_fer_plugin.datasets.categories import FER7_CLASSES
from mpa_fer_plugin.evaluation.pointing import (
    evaluate_pointing_on_synthetic,
    masks_from_bits,
    masks_to_input,
    patch_region_fractions,
    pointing_scores,
    summarize_pointing,
)
from mpa_fer_plugin.models.utils import clear_clip_cache

REGIONS = ('a', 'b')
#: Every class moves region 'a', except Neutral (nothing).
MOVED = {c: (() if c == 'Neutral' else ('a', )) for c in FER7_CLASSES}


@pytest.fixture(autouse=True)
def _fresh_clip():
    yield
    clear_clip_cache()


@pytest.fixture(scope='module')
def images():
    gen = torch.Generator().manual_seed(0)
    return torch.randn(4, 3, 32, 32, generator=gen)


@pytest.fixture(params=['mpa_fer', 'zero_shot'])
def model(request, tiny_mpa_cfg):
    torch.manual_seed(0)
    if request.param == 'zero_shot':  # no local branch, no prompts
        cfg = tiny_mpa_cfg(
            backbone=dict(num_prompts=0),
            head=dict(num_ctx=0, prompt_template='a photo of a {}.',
                      local_weight=0.0, loss_align=None, loss_proto=None))
    else:
        cfg = tiny_mpa_cfg(head=dict(loss_align=None, loss_proto=None))
    return MODELS.build(cfg).eval()


def patch_masks(patch_sets, size=32, grid=4):
    """bool [B, 1, size, size] masks covering the given patch indices."""
    cell = size // grid
    out = torch.zeros(len(patch_sets), 1, size, size, dtype=torch.bool)
    for b, patches in enumerate(patch_sets):
        for p in patches:
            r, c = divmod(int(p), grid)
            out[b, 0, r * cell:(r + 1) * cell, c * cell:(c + 1) * cell] = True
    return out


def own_topk(model, images, k):
    """The predicted class's top-k patches, from the model's own parts."""
    with torch.no_grad():
        model.backbone.out_patches = True
        g, p = model.backbone(images)
        text = model.head.text_features()
        pred = model.head((g, p)).argmax(-1)
        sims = torch.einsum('bnd,bd->bn', F.normalize(p, dim=-1),
                            F.normalize(text[pred], dim=-1))
    return pred, sims.topk(k, dim=-1).indices


def test_bits_and_patch_fractions():
    bits = np.zeros((2, 8, 8), np.uint8)
    bits[0, :4, :4] = 1  # region 'a' in the top-left quarter
    bits[0, :2, :] |= 2  # region 'b' in the top two rows
    masks = masks_from_bits(bits, REGIONS)
    assert masks.shape == (2, 2, 8, 8) and masks.dtype == torch.bool
    assert int(masks[0, 0].sum()) == 16 and int(masks[0, 1].sum()) == 16
    assert not masks[1].any()
    frac = patch_region_fractions(masks, (2, 2))
    torch.testing.assert_close(frac[0, 0], torch.tensor([1., 0., 0., 0.]))
    torch.testing.assert_close(frac[0, 1], torch.tensor([.5, .5, 0., 0.]))
    with pytest.raises(ValueError, match=r'\[B, H, W\]'):
        masks_from_bits(np.zeros((1, 1, 2, 2)), REGIONS)


def test_hit_rate_and_chance(model, images):
    k = 4
    pred, top = own_topk(model, images, k)
    # region 'a' = exactly the top-k patches: hit 1, chance k / N
    masks = torch.cat([patch_masks(top.tolist()),
                       torch.zeros(4, 1, 32, 32, dtype=torch.bool)], dim=1)
    out = pointing_scores(model, images, masks, REGIONS, MOVED, topk=k)
    assert torch.equal(out['pred'], pred)
    assert torch.equal(out['topk_idx'].sort(-1).values, top.sort(-1).values)
    measured = out['valid']
    expected_valid = torch.tensor([FER7_CLASSES[int(c)] != 'Neutral'
                                   for c in pred])
    assert torch.equal(measured, expected_valid)
    assert torch.all(out['hit'][measured] == 1)
    assert torch.allclose(out['chance'][measured], torch.tensor(k / 16))
    # the complement: hit 0, chance 1 - k / N
    masks[:, 0] = ~masks[:, 0]
    out = pointing_scores(model, images, masks, REGIONS, MOVED, topk=k)
    assert torch.all(out['hit'][measured] == 0)
    assert torch.allclose(out['chance'][measured], torch.tensor(1 - k / 16))
    # region 'b' is moved by no class: no target anywhere
    only_b = {c: ('b', ) for c in FER7_CLASSES}
    out = pointing_scores(model, images, masks, REGIONS, only_b, topk=k)
    assert not out['valid'].any()
    summary = summarize_pointing(out)
    assert summary['num_images'] == 0 and np.isnan(summary['hit_rate'])


def test_labels_choose_the_class(model, images):
    labels = torch.tensor([0, 1, 2, 3])
    masks = torch.ones(4, 2, 32, 32, dtype=torch.bool)
    out = pointing_scores(model, images, masks, REGIONS, MOVED, topk=3,
                          labels=labels)
    assert torch.equal(out['target'], labels)
    assert torch.all(out['hit'] == 1) and torch.all(out['valid'])


def test_summary_interval():
    scores = dict(hit=torch.tensor([1.0, 0.5, 0.75, 0.0]),
                  chance=torch.tensor([0.25, 0.25, 0.5, 0.5]),
                  valid=torch.tensor([True, True, True, False]),
                  target=torch.tensor([0, 0, 1, 1]))
    out = summarize_pointing(scores, ['x', 'y'])
    gap = np.array([0.75, 0.25, 0.25])
    assert out['num_images'] == 3
    assert out['hit_rate'] == pytest.approx(0.75)
    assert out['chance'] == pytest.approx(1 / 3)
    assert out['gap'] == pytest.approx(gap.mean())
    assert out['gap_ci95'] == pytest.approx(
        1.96 * gap.std(ddof=1) / np.sqrt(3))
    assert out['per_class'] == {
        'x': dict(num_images=2, hit_rate=0.75, chance=0.25),
        'y': dict(num_images=1, hit_rate=0.75, chance=0.5)}


def test_bad_input(model, images):
    masks = torch.ones(4, 2, 32, 32, dtype=torch.bool)
    with pytest.raises(ValueError, match='no entry for classes'):
        pointing_scores(model, images, masks, REGIONS, {'Anger': ('a', )})
    with pytest.raises(ValueError, match="region 'z'"):
        pointing_scores(model, images, masks, REGIONS,
                        {c: ('z', ) for c in FER7_CLASSES})
    with pytest.raises(ValueError, match=r'topk=17 .*\[1, 16\]'):
        pointing_scores(model, images, masks, REGIONS, MOVED, topk=17)
    with pytest.raises(ValueError, match='do not match 4 images'):
        pointing_scores(model, images, masks[:3], REGIONS, MOVED)


def test_masks_follow_the_pipeline(model):
    mask = torch.zeros(1, 64, 64, dtype=torch.bool)
    mask[0, :, :32] = True  # left half at the file size
    out = masks_to_input(model, mask)  # default: resize + crop to 32 px
    assert out.shape == (1, 32, 32)
    assert out[0, :, :15].all() and not out[0, :, 17:].any()


def test_on_a_generated_world(tiny_mpa_cfg, tmp_path):
    """End to end on the generator's images and region masks."""
    from mpa_fer_plugin.datasets.synthetic import (
        MOVED_REGIONS,
        REGION_NAMES,
        generate_synthetic_fer,
        load_region_mask,
    )
    root = str(tmp_path / 'world')
    generate_synthetic_fer(root, num_train=0, num_test=14, size=32, seed=0)
    torch.manual_seed(0)
    model = MODELS.build(tiny_mpa_cfg(
        head=dict(loss_align=None, loss_proto=None))).eval()
    out = evaluate_pointing_on_synthetic(model, root, use_labels=True,
                                         topk=4, batch_size=5)
    scores = out['scores']
    assert scores['hit'].shape == (14, )
    # chance = share of patches (>= half inside) in the class's regions
    from mpa_fer_plugin.datasets.rafdb import RAFDB
    ds = RAFDB(data_root=root, split='test', pipeline=[])
    for i in range(14):
        info = ds.get_data_info(i)
        stem = info['img_path'].rsplit('/', 1)[1].rsplit('_aligned', 1)[0]
        bits = torch.as_tensor(load_region_mask(root, stem)).long()
        wanted = [REGION_NAMES.index(r)
                  for r in MOVED_REGIONS[FER7_CLASSES[info['gt_label']]]]
        if not wanted:
            assert not scores['valid'][i]
            continue
        inside = sum(((bits >> r) & 1) for r in wanted) > 0
        frac = F.avg_pool2d(inside[None, None].float(), 8).flatten()
        chance = float((frac >= 0.5).float().mean())
        assert float(scores['chance'][i]) == pytest.approx(chance)
        assert 0 <= float(scores['hit'][i]) <= 1
    assert out['num_images'] == int(scores['valid'].sum()) > 0
    assert 0 <= out['chance'] <= 1
