"""Protocol configs on generated data in each official layout (tiny CLIP).

Few-shot and base-to-novel configs train one iteration; the cross-dataset
test configs evaluate a checkpoint (or the model as built) on RAF-DB,
FERPlus (CSV) and AffectNet trees, and report classes on one side only.
"""
import copy
import glob
import json
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mpa_fer_plugin.datasets.synthetic import generate_synthetic_fer

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PROTOCOLS = sorted(glob.glob(osp.join(ROOT, 'configs', 'protocols', '*.py')))
TINY_224 = {
    'embed_dim': 32, 'quick_gelu': True,
    'vision_cfg': {'image_size': 224, 'layers': 2, 'width': 64,
                   'patch_size': 32, 'head_width': 32},
    'text_cfg': {'context_length': 77, 'vocab_size': 49408, 'width': 64,
                 'heads': 2, 'layers': 2},
}
TINY_64 = {
    'embed_dim': 64, 'quick_gelu': True,
    'vision_cfg': {'image_size': 64, 'layers': 1, 'width': 96,
                   'patch_size': 8, 'head_width': 32},
    'text_cfg': {'context_length': 77, 'vocab_size': 49408, 'width': 32,
                 'heads': 2, 'layers': 1},
}


@pytest.fixture(scope='module')
def world(tmp_path_factory, fer_data):
    import open_clip
    root = tmp_path_factory.mktemp('protocol_world')
    clips = {}
    for name, arch in (('224', TINY_224), ('64', TINY_64)):
        torch.manual_seed(0)
        clips[name] = str(root / f'clip{name}.pt')
        torch.save(open_clip.model.CLIP(**arch).state_dict(), clips[name])
    rafdb = str(root / 'rafdb')
    generate_synthetic_fer(rafdb, num_train=21, num_test=14, size=64,
                           seed=0)
    rafdb8 = str(root / 'rafdb8')
    generate_synthetic_fer(rafdb8, num_train=8, num_test=16, size=64,
                           seed=1, num_classes=8)
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
    return dict(clips=clips, RAFDB=rafdb, RAFDB8=rafdb8, AffectNet=affectnet,
                FERPlus=ferplus)


def _point(dataset, world):
    """Set the data root of the innermost dataset of a (wrapped) config."""
    if dataset.get('dataset') is not None:
        _point(dataset['dataset'], world)
        return
    if dataset.type == 'RAFDB':
        dataset.data_root = world['RAFDB8' if dataset.get('num_classes') == 8
                                  else 'RAFDB']
    elif dataset.type in world:
        dataset.data_root = world[dataset.type]


def _load(path, world, work_dir):
    cfg = Config.fromfile(path)
    if cfg.model.clip.get('model_cfg'):  # demo family: 64 px, 1 layer
        cfg.model.clip = dict(model_cfg=copy.deepcopy(TINY_64),
                              pretrained=world['clips']['64'])
    else:
        cfg.model.clip = dict(model_cfg=copy.deepcopy(TINY_224),
                              pretrained=world['clips']['224'])
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(name)
        if loader is not None:
            _point(loader.dataset, world)
            loader.update(batch_size=4, num_workers=0,
                          persistent_workers=False)
    cfg.work_dir = str(work_dir)
    cfg.env_cfg.dist_cfg = dict(backend='gloo')
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.log_level = 'WARNING'
    return cfg


def _one_iteration(cfg):
    cfg.train_cfg = dict(by_epoch=False, max_iters=1, val_interval=1000)
    cfg.param_scheduler = None
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1,
                                        by_epoch=False)
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner


@pytest.mark.parametrize('path', PROTOCOLS, ids=osp.basename)
def test_protocol_config_builds(path, world, tmp_path):
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import DATASETS, MODELS
    cfg = _load(path, world, tmp_path)
    init_default_scope('mmpretrain')
    train = DATASETS.build(cfg.train_dataloader.dataset)
    assert tuple(cfg.model.head.classnames) == train.metainfo['classes']
    test = DATASETS.build(cfg.test_dataloader.dataset)
    assert len(test) > 0 and test[0]['inputs'].shape[-1] == \
        cfg.model.clip.model_cfg['vision_cfg']['image_size']
    MODELS.build(cfg.model)


def test_base_to_novel_trains_on_base_and_reports_three(world, tmp_path):
    path = osp.join(ROOT, 'configs', 'protocols', 'base2novel_rafdb.py')
    runner = _one_iteration(_load(path, world, tmp_path))
    assert runner.train_dataloader.dataset.metainfo['classes'] == (
        'Sadness', 'Happiness', 'Surprise', 'Neutral')
    metrics = runner.test()
    for key in ('base_top1', 'novel_top1', 'hm_top1', 'hm_uar'):
        assert 0.0 <= metrics[f'base2novel/{key}'] <= 100.0
    assert runner.model.head.classnames == (
        'Sadness', 'Happiness', 'Surprise', 'Neutral')


def test_fewshot_config_prototypes_from_the_shots(world, tmp_path):
    path = osp.join(ROOT, 'configs', 'protocols', 'fewshot_rafdb.py')
    cfg = _load(path, world, tmp_path)
    cfg.train_dataloader.dataset.shots = 1
    cfg.train_dataloader.dataset.split_file = str(tmp_path / 'k1.json')
    runner = _one_iteration(cfg)
    assert len(runner.train_dataloader.dataset) == 7
    assert bool(runner.model.head.prototypes_set)
    # Prototypes are means over the 1 shot of each class: the frozen
    # feature of that image (the hook normalises nothing by default).
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import DATASETS

    from mpa_fer_plugin.engine.prototypes import with_test_pipeline
    init_default_scope('mmpretrain')
    shots = DATASETS.build(with_test_pipeline(
        cfg.train_dataloader.dataset, cfg.test_dataloader.dataset.pipeline))
    model = runner.model.eval()
    for i in range(len(shots)):
        data = model.data_preprocessor(
            dict(inputs=[shots[i]['inputs']],
                 data_samples=[shots[i]['data_samples']]))
        with torch.no_grad():
            feat = model.backbone.forward_frozen(data['inputs'])
        feat = feat[0] if isinstance(feat, (tuple, list)) else feat
        label = int(shots[i]['data_samples'].gt_label)
        torch.testing.assert_close(model.head.prototypes[label],
                                   feat.reshape(-1), rtol=1e-4, atol=1e-4)


def test_cross_dataset_configs_test_a_checkpoint(world, tmp_path):
    # AffectNet-8 model -> RAF-DB: Contempt exists on the training side only
    train = _load(osp.join(ROOT, 'configs', 'mpa_fer_affectnet8.py'), world,
                  tmp_path / 'train')
    _one_iteration(train)
    ckpt = str(tmp_path / 'train' / 'iter_1.pth')
    cfg = _load(osp.join(ROOT, 'configs', 'protocols',
                         'cross_affectnet8_to_rafdb.py'), world,
                tmp_path / 'a8_rafdb')
    cfg.load_from = ckpt
    metrics = Runner.from_cfg(cfg).test()
    assert 0.0 <= metrics['accuracy/top1'] <= 100.0
    report = json.loads((tmp_path / 'a8_rafdb' /
                         'eval_classes.json').read_text())
    assert report['train_only_classes'] == ['Contempt']
    # RAF-DB model -> FERPlus: the Contempt test images are dropped and
    # counted; -> AffectNet-7: same 7 classes, nothing to report
    for name, dropped in (('cross_rafdb_to_ferplus.py', {'Contempt': 1}),
                          ('cross_rafdb_to_affectnet7.py', {})):
        work = tmp_path / name
        cfg = _load(osp.join(ROOT, 'configs', 'protocols', name), world,
                    work)
        cfg.load_from = None
        metrics = Runner.from_cfg(cfg).test()
        assert 'single-label/recall' in metrics
        report = json.loads((work / 'eval_classes.json').read_text())
        assert report['dropped_test_images'] == dropped
        assert report['unseen_test_classes'] == []
