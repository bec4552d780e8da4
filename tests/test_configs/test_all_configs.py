"""Every config builds, and each family trains one iteration (tiny CLIP).

The paper configs are pointed at generated data in the official layouts and
at a tiny random CLIP with the real input size (224 px, 32-px patches), so
their real pipelines, hooks, optimizer and losses run unchanged.
"""
import copy
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mpa_fer_plugin.datasets.categories import FER7_CLASSES, FER8_CLASSES
from mpa_fer_plugin.datasets.synthetic import generate_synthetic_fer

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(
    p for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'),
                         recursive=True) if '_base_' not in p
    # sweep files and protocol configs: tests/test_sweep, test_protocols.py
    and osp.sep + 'sweeps' + osp.sep not in p
    and osp.sep + 'protocols' + osp.sep not in p)

TINY_224 = {
    'embed_dim': 32,
    'quick_gelu': True,
    'vision_cfg': {'image_size': 224, 'layers': 2, 'width': 64,
                   'patch_size': 32, 'head_width': 32},
    'text_cfg': {'context_length': 77, 'vocab_size': 49408, 'width': 64,
                 'heads': 2, 'layers': 2},
}


def _rel(path: str) -> str:
    return osp.relpath(path, osp.join(ROOT, 'configs'))


@pytest.fixture(scope='module')
def world(tmp_path_factory, fer_data):
    import open_clip
    root = tmp_path_factory.mktemp('config_world')
    torch.manual_seed(0)
    clip_file = str(root / 'tiny224.pt')
    torch.save(open_clip.model.CLIP(**TINY_224).state_dict(), clip_file)
    rafdb = str(root / 'rafdb')
    generate_synthetic_fer(rafdb, num_train=14, num_test=7, size=100,
                           seed=0)
    affectnet = str(root / 'affectnet')
    rows = [(f'{i}/img{i}.jpg', str(i % 8)) for i in range(16)]
    fer_data.affectnet(affectnet, rows, csv_name='training.csv')
    fer_data.affectnet(affectnet, rows, csv_name='validation.csv')
    ferplus = str(root / 'ferplus')
    votes = [[10 if j == i % 8 else 0 for j in range(10)] for i in range(8)]
    fer_data.ferplus_csv(ferplus, [
        (usage, f'fer{k:07d}.png', votes[k % 8])
        for k, usage in enumerate(['Training'] * 8 + ['PublicTest'] * 8 +
                                  ['PrivateTest'] * 8)])
    return dict(clip=clip_file, RAFDB=rafdb, AffectNet=affectnet,
                FERPlus=ferplus, work=root)


def _random_clip(model_cfg: dict, world: dict) -> str:
    import hashlib
    import json

    import open_clip
    key = hashlib.sha1(json.dumps(model_cfg, sort_keys=True).encode())
    path = world['work'] / f'clip_{key.hexdigest()[:12]}.pt'
    if not path.is_file():
        torch.manual_seed(0)
        torch.save(open_clip.model.CLIP(**model_cfg).state_dict(), path)
    return str(path)


def _point_at(cfg: Config, world: dict) -> Config:
    """Tiny CLIP + generated data; everything else as configured."""
    model_cfg = cfg.model.clip.get('model_cfg')
    if not model_cfg:
        cfg.model.clip = dict(model_cfg=copy.deepcopy(TINY_224),
                              pretrained=world['clip'])
    else:  # the demo family: random weights of its own tiny architecture
        cfg.model.clip.pretrained = _random_clip(model_cfg.to_dict(), world)
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(name)
        if loader is None:
            continue
        dataset = loader.dataset
        if dataset.type in world:
            dataset.data_root = world[dataset.type]
        loader.update(batch_size=4, num_workers=0, persistent_workers=False)
    return cfg


@pytest.mark.parametrize('path', CONFIGS, ids=_rel)
def test_config_builds_model_and_datasets(path, world):
    cfg = _point_at(Config.fromfile(path), world)
    assert cfg.default_scope == 'mmpretrain'
    assert 'mpa_fer_plugin' in cfg.custom_imports['imports']
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import DATASETS, MODELS
    init_default_scope('mmpretrain')
    for name in ('train_dataloader', 'test_dataloader'):
        dataset = DATASETS.build(cfg[name].dataset)
        assert tuple(cfg.model.head.classnames) == dataset.metainfo[
            'classes'], (name, dataset.metainfo['classes'])
        assert len(dataset) > 0
        sample = dataset[0]
        size = cfg.model.clip.model_cfg['vision_cfg']['image_size']
        assert sample['inputs'].shape[-2:] == (size, size)
    assert tuple(cfg.model.head.classnames) in (FER7_CLASSES, FER8_CLASSES)
    model = MODELS.build(cfg.model)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    if 'zsclip' in path:
        assert trainable == []
    else:
        assert trainable


# One training iteration for each family: baselines, Table 1 rows (a = CoOp
# and b = IVLP are covered by the baselines), Table 2, Table 3, paper
# configs of the other datasets.
FAMILIES = [
    'baselines/coop_rafdb.py', 'baselines/kgcoop_rafdb.py',
    'baselines/ivlp_rafdb.py', 'ablations/table1_c_prototypes_rafdb.py',
    'ablations/table1_d_soft_hard_rafdb.py', 'mpa_fer_rafdb.py',
    'ablations/table2_granularity1_rafdb.py',
    'ablations/table3_protos16_rafdb.py', 'mpa_fer_affectnet8.py',
    'mpa_fer_ferplus.py'
]


@pytest.mark.parametrize('rel', FAMILIES)
def test_one_training_iteration(rel, world, tmp_path):
    cfg = _point_at(Config.fromfile(osp.join(ROOT, 'configs', rel)), world)
    cfg.work_dir = str(tmp_path)
    cfg.train_cfg = dict(by_epoch=False, max_iters=1, val_interval=1000)
    cfg.param_scheduler = None
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook',
                                        interval=1000, by_epoch=False)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.env_cfg.dist_cfg = dict(backend='gloo')
    runner = Runner.from_cfg(cfg)
    before = {n: p.detach().clone()
              for n, p in runner.model.named_parameters() if p.requires_grad}
    runner.train()
    after = dict(runner.model.named_parameters())
    assert any(not torch.equal(before[n], after[n]) for n in before)
    head = runner.model.head
    if cfg.model.head.get('loss_proto'):
        assert bool(head.prototypes_set)
    losses = runner.message_hub.log_scalars
    assert 'train/loss_cls' in losses
    if cfg.model.head.get('loss_align'):
        assert 'train/loss_align' in losses


def test_zero_shot_config_evaluates_without_checkpoint(world, tmp_path):
    cfg = _point_at(Config.fromfile(
        osp.join(ROOT, 'configs', 'baselines', 'zsclip_rafdb.py')), world)
    cfg.work_dir = str(tmp_path)
    cfg.load_from = None
    metrics = Runner.from_cfg(cfg).test()
    assert 0.0 <= metrics['accuracy/top1'] <= 100.0
    assert 'single-label/recall' in metrics
