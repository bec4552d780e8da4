"""mpa_fer_plugin.demo.pretrain_tiny_clip at tiny size."""
import json

import numpy as np
import pytest
import torch

from mpa_fer_plugin.demo import pretrain_tiny_clip as pt

#: A CLIP small enough to pretrain for a few steps in a test.
MINI_CLIP = {
    'embed_dim': 16,
    'quick_gelu': True,
    'vision_cfg': {'image_size': 32, 'layers': 1, 'width': 32,
                   'patch_size': 8, 'head_width': 16},
    'text_cfg': {'context_length': 77, 'vocab_size': 49408, 'width': 16,
                 'heads': 1, 'layers': 1},
}


def _mini_run(out_dir, seed=0):
    return pt.pretrain_tiny_clip(
        str(out_dir), seed=seed, steps=3, batch_size=8, num_images=16,
        num_heldout=14, log_interval=1, topk=4, model_cfg=MINI_CLIP)


def test_pretraining_is_deterministic_and_loadable(tmp_path):
    from mpa_fer_plugin.models.utils import load_clip
    from mpa_fer_plugin.prompts.descriptions import load_descriptions
    rec_a = _mini_run(tmp_path / 'a')
    rec_b = _mini_run(tmp_path / 'b')
    rec_c = _mini_run(tmp_path / 'c', seed=1)
    assert rec_a['sha256'] == rec_b['sha256'] != rec_c['sha256']
    state = torch.load(tmp_path / 'a' / 'tiny_clip.pth', weights_only=True)
    assert all(v.dtype == torch.float16 for v in state.values()
               if v.is_floating_point())
    prov = json.loads((tmp_path / 'a' / 'provenance.json').read_text())
    assert prov['recipe']['steps'] == 3 and prov['recipe']['topk'] == 4
    assert set(prov['final_loss']) == {'total', 'global', 'region', 'topk'}
    for key in ('global_only', 'with_local'):
        assert 0 <= prov['zero_shot_heldout'][key] <= 100
    assert '--topk 4' in prov['command']
    descs = load_descriptions(str(tmp_path / 'a' / prov['descriptions'][0]))
    assert 'lips stretched sideways' in ' '.join(descs['Fear'])
    model = load_clip(dict(model_cfg=MINI_CLIP,
                           pretrained=str(tmp_path / 'a' / 'tiny_clip.pth')),
                      use_cache=False)
    assert torch.equal(model.visual.proj.detach(),
                       state['visual.proj'].float())


def test_patch_features_match_the_prompted_backbone(tmp_path):
    """The pretraining's patch tokens are the backbone's (ln_post + proj)."""
    import open_clip

    from mpa_fer_plugin.models.backbones import MPAPromptedViT
    torch.manual_seed(0)
    model = open_clip.model.CLIP(**MINI_CLIP).eval()
    torch.save(model.state_dict(), tmp_path / 'clip.pth')
    backbone = MPAPromptedViT(clip=dict(
        model_cfg=MINI_CLIP, pretrained=str(tmp_path / 'clip.pth')),
        num_prompts=0).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        glob, patches = pt.encode_image(model, x)
        ref_g, ref_p = backbone(x)[:2]
    torch.testing.assert_close(glob, ref_g, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(patches, ref_p, atol=1e-5, rtol=1e-5)
    assert not model.visual.output_tokens


def test_patch_coverage_and_topk_scores():
    masks = np.zeros((2, 16, 16), np.uint8)
    masks[0, :8, :8] = 1  # top-left patch, bit 1
    masks[1, 8:, :] = 8 | 1  # bottom row, bits 8 and 1
    cov = pt.patch_coverage(masks, np.array([1, 8]), patch=8)
    assert cov.tolist() == [[1, 0, 0, 0], [0, 0, 1, 1]]
    masks[0, :4, 8:] = 1  # half of the top-right patch
    assert pt.patch_coverage(masks, np.array([1, 1]), 8)[0, 1] == 0.5
    patches = torch.tensor([[[1.0, 0], [0, 1], [-1, 0]]])
    text = torch.tensor([[1.0, 0], [0, 2]])
    assert pt.topk_scores(patches, text, 1).tolist() == [[1.0, 1.0]]
    assert pt.topk_scores(patches, text, 2).tolist() == [[0.5, 0.5]]


def test_text_encoder_cut_matches_open_clip():
    import open_clip
    torch.manual_seed(0)
    model = open_clip.model.CLIP(**MINI_CLIP).eval()
    ids = open_clip.SimpleTokenizer()(['a face with raised brows',
                                       'a happy face, wide open eyes'])
    with torch.no_grad():
        torch.testing.assert_close(pt.encode_text(model, ids),
                                   model.encode_text(ids), atol=1e-5,
                                   rtol=1e-5)


def test_pretraining_faces_are_not_dataset_faces(tmp_path):
    import cv2

    from mpa_fer_plugin.datasets.synthetic import generate_synthetic_fer
    generate_synthetic_fer(str(tmp_path), num_train=7, num_test=0, seed=0,
                           size=32)
    images, masks, labels = pt.render_faces(
        7, 0, pt.PRETRAIN_STREAM, ['Anger', 'Happiness'], size=32)
    assert set(labels.tolist()) == {0, 1} and masks.shape == (7, 32, 32)
    assert masks.max() > 0
    first = cv2.imread(str(tmp_path / 'Image' / 'aligned' /
                           'train_00001_aligned.jpg'))[..., ::-1]
    assert all(np.abs(first.astype(int) - img).mean() > 5 for img in images)


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match='num_images'):
        pt.pretrain_tiny_clip(str(tmp_path), steps=1, batch_size=8,
                              num_images=4, model_cfg=MINI_CLIP)
