"""tools/misc/pretrain_tiny_clip.py (thin CLI) and the committed demo CLIP."""
import hashlib
import json
import os.path as osp

import torch
from tool_loader import ROOT, load_tool

ASSET_DIR = osp.join(ROOT, 'configs', 'demo_assets', 'tiny_clip')


def test_cli_passes_the_recipe_through(monkeypatch, tmp_path):
    tool = load_tool('misc/pretrain_tiny_clip.py')
    seen = {}
    monkeypatch.setattr(tool, 'pretrain_tiny_clip',
                        lambda out_dir, **kw: seen.update(kw, out=out_dir))
    tool.main([str(tmp_path), '--steps', '7', '--topk', '4',
               '--region-weight', '0.5', '--name-prob', '0.2'])
    assert seen['out'] == str(tmp_path)
    assert (seen['steps'], seen['topk'], seen['region_weight'],
            seen['name_prob'], seen['topk_weight']) == (7, 4, 0.5, 0.2, 1.0)


def test_committed_demo_clip_matches_its_provenance():
    from mmengine.config import Config

    from mpa_fer_plugin.demo.captions import demo_descriptions
    from mpa_fer_plugin.demo.pretrain_tiny_clip import TINY_DEMO_CLIP
    from mpa_fer_plugin.models.utils import load_clip
    from mpa_fer_plugin.prompts.descriptions import load_descriptions
    with open(osp.join(ASSET_DIR, 'provenance.json')) as f:
        prov = json.load(f)
    path = osp.join(ASSET_DIR, prov['file'])
    with open(path, 'rb') as f:
        assert hashlib.sha256(f.read()).hexdigest() == prov['sha256']
    assert osp.getsize(path) < 5 * 2**20
    with open(osp.join(ASSET_DIR, 'open_clip_config.json')) as f:
        arch = json.load(f)['model_cfg']
    assert arch == TINY_DEMO_CLIP
    demo = Config.fromfile(osp.join(ROOT, 'configs', 'mpa_fer_demo.py'))
    assert demo.model.clip.model_cfg.to_dict() == arch
    assert osp.samefile(demo.model.clip.pretrained, path)
    # Above chance, and the local branch does not hurt zero-shot.
    zs = prov['zero_shot_heldout']
    assert zs['global_only'] > 100 / 7 + 10
    assert zs['with_local'] >= zs['global_only']
    for without_cue, name in enumerate(prov['descriptions']):
        assert load_descriptions(osp.join(ASSET_DIR, name)) == \
            demo_descriptions(bool(without_cue))
    model = load_clip(dict(model_cfg=arch, pretrained=path),
                      use_cache=False)
    assert model.visual.proj.dtype == torch.float32


def test_cli_defaults_are_the_committed_recipe():
    # README: `python tools/misc/pretrain_tiny_clip.py
    # configs/demo_assets/tiny_clip` rebuilds the committed CLIP, so the
    # defaults must be the recipe recorded in its provenance.
    tool = load_tool('misc/pretrain_tiny_clip.py')
    args = tool.parse_args([ASSET_DIR])
    with open(osp.join(ASSET_DIR, 'provenance.json')) as f:
        recipe = json.load(f)['recipe']
    for key in ('seed', 'steps', 'batch_size', 'num_images', 'name_prob',
                'noun_prob', 'region_weight', 'topk_weight', 'topk', 'lr'):
        assert getattr(args, key) == recipe[key], key
