"""mpa_fer_plugin.demo.probe: world headroom, pointing and teacher probes
on the tiny generated world (14 test faces) and a random tiny CLIP."""
import json
import os.path as osp

import pytest
import torch
import torch.nn.functional as F

from mpa_fer_plugin.demo.probe import (
    LOOKALIKE_PAIRS,
    _pair_cosines,
    load_split,
    probe_world,
    teacher_report,
)


def test_load_split_normalises_every_test_face(small_world):
    images, labels = load_split(small_world['data_root'], 'test', 64)
    assert images.shape == (small_world['num_test'], 3, 64, 64)
    assert labels.min() >= 0 and labels.max() < 7
    # CLIP normalisation: pixels in [0, 1] map to about [-1.8, 2.2]
    assert -2.0 < float(images.min()) < float(images.max()) < 2.3


def test_probe_world_reports_accuracies(small_world, tmp_path):
    clip_dir = tmp_path / 'clip'
    clip_dir.mkdir()
    from mpa_fer_plugin.demo.pretrain_tiny_clip import TINY_DEMO_CLIP
    (clip_dir / 'open_clip_config.json').write_text(
        json.dumps(dict(model_cfg=TINY_DEMO_CLIP)))
    state = torch.load(small_world['clip'], map_location='cpu',
                       weights_only=True)
    torch.save(state.get('state_dict', state), clip_dir / 'tiny_clip.pth')
    res = probe_world(str(clip_dir), small_world['data_root'])
    assert set(res) == {'zero_shot', 'zero_shot_local', 'nearest_prototype'}
    n = small_world['num_test']
    for value in res.values():  # a multiple of 1/n, as a percentage
        assert 0 <= value <= 100
        assert abs(value * n / 100 - round(value * n / 100)) < 1e-6


def test_pair_cosines_reads_the_named_classes():
    names = ('Fear', 'Surprise', 'Anger', 'Disgust', 'Sadness', 'Neutral')
    feats = torch.eye(6)
    feats[1] = torch.tensor([1., 1., 0, 0, 0, 0])  # Surprise near Fear
    cos = _pair_cosines(feats, names)
    assert set(cos) == {f'{a}/{b}' for a, b in LOOKALIKE_PAIRS}
    assert cos['Fear/Surprise'] == pytest.approx(2 ** -0.5)
    assert cos['Anger/Disgust'] == pytest.approx(0.0)


def test_teacher_report_is_consistent_with_the_model(small_world):
    from mpa_fer_plugin.apis import init_mpa_model
    from mpa_fer_plugin.models.utils import clear_clip_cache
    cfg = small_world['config']
    torch.manual_seed(0)  # the same random prompts in both builds
    res = teacher_report({'MPA-FER': (cfg, [None])},
                         small_world['data_root'])['MPA-FER']
    # recompute the soft-hard cosine and the hard-prompt accuracy by hand
    torch.manual_seed(0)
    model = init_mpa_model(cfg, None, device='cpu').eval()
    hard = model.head.hard_prompts()[1]
    soft = F.normalize(model.head.text_features(), dim=-1)
    assert res['soft_hard'][0] == pytest.approx(
        float((soft * hard).sum(-1).mean()), abs=1e-5)
    images, labels = load_split(small_world['data_root'], 'test', 64)
    with torch.no_grad():
        g = model.backbone.forward_frozen(images)[0]
    pred = (F.normalize(g, dim=-1) @ hard.t()).argmax(-1).numpy()
    assert res['hard_global'][0] == pytest.approx(
        100 * (pred == labels).mean())
    assert 0 <= res['soft'][0] <= 100 and res['hard_local'][0] is not None
    assert 0 <= res['hard_prompted'][0] <= 100
    assert set(res['pairs_hard']) == {f'{a}/{b}' for a, b in LOOKALIKE_PAIRS}
    clear_clip_cache()


def test_teacher_report_needs_hard_prompts_first(small_world, tmp_path):
    ivlp = tmp_path / 'ivlp.py'
    ivlp.write_text(f"_base_ = [{small_world['config']!r}]\n"
                    'model = dict(head=dict(loss_align=None))\n')
    assert osp.exists(ivlp)
    with pytest.raises(ValueError, match='no hard prompts'):
        teacher_report({'IVLP': (str(ivlp), [None])},
                       small_world['data_root'])
