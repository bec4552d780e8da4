"""tools/misc/pretrain_tiny_clip.py and the committed demo CLIP."""
import hashlib
import importlib.util
import json
import os.path as osp

import numpy as np
import pytest
import torch

ROOT = osp.join(osp.dirname(__file__), '..', '..')
ASSET_DIR = osp.join(ROOT, 'configs', 'demo_assets', 'tiny_clip')

#: A CLIP small enough to pretrain for a few steps in a test.
MINI_CLIP = {
    'embed_dim': 16,
    'quick_gelu': True,
    'vision_cfg': {'image_size': 32, 'layers': 1, 'width': 32,
                   'patch_size': 8, 'head_width': 16},
    'text_cfg': {'context_length': 77, 'vocab_size': 49408, 'width': 16,
                 'heads': 1, 'layers': 1},
}


@pytest.fixture(scope='module')
def pretrain():
    path = osp.join(ROOT, 'tools', 'misc', 'pretrain_tiny_clip.py')
    spec = importlib.util.spec_from_file_location('pretrain_tiny_clip', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _mini_run(pretrain, out_dir, seed=0):
    return pretrain.pretrain_tiny_clip(
        str(out_dir), seed=seed, steps=3, batch_size=8, num_images=16,
        num_heldout=14, log_interval=1, model_cfg=MINI_CLIP)


def test_pretraining_is_deterministic_and_loadable(pretrain, tmp_path):
    from mpa_fer_plugin.models.utils import load_clip
    rec_a = _mini_run(pretrain, tmp_path / 'a')
    rec_b = _mini_run(pretrain, tmp_path / 'b')
    rec_c = _mini_run(pretrain, tmp_path / 'c', seed=1)
    assert rec_a['sha256'] == rec_b['sha256'] != rec_c['sha256']
    state = torch.load(tmp_path / 'a' / 'tiny_clip.pth', weights_only=True)
    assert all(v.dtype == torch.float16 for v in state.values()
               if v.is_floating_point())
    prov = json.loads((tmp_path / 'a' / 'provenance.json').read_text())
    assert prov['loss'] == 'open_clip.ClipLoss' and prov['steps'] == 3
    assert 0 <= prov['zero_shot_top1_heldout'] <= 100
    # The plugin's loader reads it both as a file and as a local dir.
    model = load_clip(dict(model_cfg=MINI_CLIP,
                           pretrained=str(tmp_path / 'a' / 'tiny_clip.pth')),
                      use_cache=False)
    ref = state['visual.proj'].float()
    assert torch.equal(model.visual.proj.detach(), ref)
    model = load_clip(dict(model_name=f'local-dir:{tmp_path / "a"}'),
                      use_cache=False)
    assert torch.equal(model.visual.proj.detach(), ref)


def test_text_encoder_cut_matches_open_clip(pretrain):
    import open_clip
    torch.manual_seed(0)
    model = open_clip.model.CLIP(**MINI_CLIP).eval()
    ids = open_clip.SimpleTokenizer()(['a face with raised brows',
                                       'a happy face, wide open eyes'])
    with torch.no_grad():
        torch.testing.assert_close(pretrain.encode_text(model, ids),
                                   model.encode_text(ids), atol=1e-5,
                                   rtol=1e-5)


def test_captions(pretrain):
    rng = np.random.default_rng(0)
    caps = [pretrain.make_caption('Happiness', rng, name_prob=1.0,
                                  noun_prob=1.0, confuse_prob=0.0)
            for _ in range(20)]
    assert all('happiness' in c for c in caps)
    assert all(c.count('a face with') == 1 for c in caps)
    plain = [pretrain.make_caption('Fear', rng, name_prob=0.0)
             for _ in range(50)]
    words = {w for ws in pretrain.EXPRESSION_WORDS.values() for group in ws
             for w in group}
    assert not any(w in c.split() for c in plain for w in words)
    assert 'surprise' in ' '.join(
        pretrain.make_caption('Fear', rng, name_prob=1.0, noun_prob=1.0,
                              confuse_prob=1.0) for _ in range(5))
    # The exact zero-shot prompt never appears in a caption.
    assert all('a photo of a {}.' != t for t in pretrain.NOUN_TEMPLATES)
    assert set(pretrain.FEATURE_PHRASES) == set(pretrain.EXPRESSION_WORDS)


def test_pretraining_faces_are_not_dataset_faces(pretrain, tmp_path):
    import cv2

    from mpa_fer_plugin.datasets.synthetic import generate_synthetic_fer
    generate_synthetic_fer(str(tmp_path), num_train=7, num_test=7, seed=0)
    images, labels = pretrain.render_faces(
        7, 0, pretrain.PRETRAIN_STREAM, ['Anger', 'Happiness'])
    assert set(labels.tolist()) == {0, 1}
    first = cv2.imread(str(tmp_path / 'Image' / 'aligned' /
                           'train_00001_aligned.jpg'))[..., ::-1]
    assert all(np.abs(first.astype(int) - img).mean() > 5 for img in images)


def test_committed_demo_clip_matches_its_provenance(pretrain):
    from mmengine.config import Config

    from mpa_fer_plugin.models.utils import load_clip
    prov_file = osp.join(ASSET_DIR, 'provenance.json')
    with open(prov_file) as f:
        prov = json.load(f)
    path = osp.join(ASSET_DIR, prov['file'])
    with open(path, 'rb') as f:
        assert hashlib.sha256(f.read()).hexdigest() == prov['sha256']
    assert osp.getsize(path) < 5 * 2**20
    with open(osp.join(ASSET_DIR, 'open_clip_config.json')) as f:
        arch = json.load(f)['model_cfg']
    assert arch == pretrain.TINY_DEMO_CLIP
    demo = Config.fromfile(osp.join(ROOT, 'configs', 'mpa_fer_demo.py'))
    assert demo.model.clip.model_cfg.to_dict() == arch
    assert prov['zero_shot_top1_heldout'] > 2 * 100 / 7
    model = load_clip(dict(model_cfg=arch, pretrained=path),
                      use_cache=False)
    assert model.visual.proj.dtype == torch.float32
