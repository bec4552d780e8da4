"""Tests of MPAFERClassifier: modes, freezing, checkpoints, training."""
import copy
import io
import os.path as osp

import open_clip
import pytest
import torch
import torch.nn.functional as F
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import mpa_fer_plugin  # noqa: F401
from mpa_fer_plugin.datasets.categories import FER7_CLASSES
from mpa_fer_plugin.models.losses import class_mean_prototypes
from mpa_fer_plugin.models.utils import load_clip

CONFIG_DIR = osp.join(osp.dirname(__file__), '..', '..', 'configs', '_base_',
                      'models')
TRAINABLE = {'backbone.prompts', 'head.prompt_learner.ctx'}


def samples(labels):
    return [DataSample().set_gt_label(int(i)) for i in labels]


def full_model(make, seed=0, **kwargs):
    torch.manual_seed(seed)
    model = MODELS.build(make(**kwargs))
    model.head.set_prototypes(torch.randn(7, 32))
    return model


@pytest.fixture(scope='module')
def images():
    return torch.randint(0, 256, (3, 3, 32, 32),
                         generator=torch.Generator().manual_seed(3)).float()


def test_zero_shot_equals_open_clip(tiny_mpa_cfg, tiny_clip_spec, images):
    """Prompts off: the logits are CLIP's zero-shot logits."""
    model = MODELS.build(
        tiny_mpa_cfg(
            backbone=dict(num_prompts=0),
            head=dict(num_ctx=0, prompt_template='a photo of a {}.',
                      local_weight=0.0, loss_align=None, loss_proto=None)))
    model.eval()
    assert model.backbone.out_patches is False  # no local branch needed
    assert not any(p.requires_grad for p in model.parameters())
    clip = load_clip(tiny_clip_spec, use_cache=False)
    tokenizer = open_clip.SimpleTokenizer()
    with torch.no_grad():
        x = model.data_preprocessor(dict(inputs=list(images.byte())))
        x = x['inputs']
        img = clip.encode_image(x, normalize=True)
        txt = clip.encode_text(
            tokenizer([f'a photo of a {c}.' for c in FER7_CLASSES]),
            normalize=True)
        logits = model(x)
    torch.testing.assert_close(logits, 100 * img @ txt.t(), rtol=0,
                               atol=1e-4)


def test_modes(tiny_mpa_cfg, images):
    model = full_model(tiny_mpa_cfg)
    model.eval()
    with torch.no_grad():
        logits = model(images)
        preds = model(images, mode='predict')
        feats = model.extract_feat(images)
    assert logits.shape == (3, 7)
    assert len(feats) == 2 and feats[1].shape == (3, 16, 32)
    assert len(preds) == 3 and preds[0].pred_score.shape == (7, )
    torch.testing.assert_close(
        torch.stack([p.pred_score for p in preds]), logits.softmax(-1))
    assert [int(p.pred_label) for p in preds] == logits.argmax(1).tolist()
    model.train()
    losses = model(images, samples([0, 3, 6]), mode='loss')
    assert set(losses) == {'loss_cls', 'loss_align', 'loss_proto'}
    assert all(v.dim() == 0 and torch.isfinite(v) for v in losses.values())


def test_gradients_reach_only_prompts(tiny_mpa_cfg, images):
    model = full_model(tiny_mpa_cfg)
    model.train()
    assert model.training and model.head.training
    assert not model.backbone.visual.training
    assert not model.head.text_encoder.training
    assert not any(m.training for m in model.backbone.visual.modules())
    assert not any(m.training for m in model.head.text_encoder.modules())
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == TRAINABLE
    losses = model(images, samples([1, 2, 5]), mode='loss')
    parsed, _ = model.parse_losses(losses)
    parsed.backward()
    for name, param in model.named_parameters():
        if name in TRAINABLE:  # every trainable parameter, every step
            assert param.grad is not None and param.grad.abs().sum() > 0
        else:
            assert param.grad is None, name
    # routing (docs/method.md): L_t reaches only the text context, L_v only
    # the visual prompts
    for key, reached in (('loss_align', 'head.prompt_learner.ctx'),
                         ('loss_proto', 'backbone.prompts')):
        model.zero_grad()
        model(images, samples([1, 2, 5]), mode='loss')[key].backward()
        grads = {n for n, p in model.named_parameters()
                 if p.grad is not None and p.grad.abs().sum() > 0}
        assert grads == {reached}, key


def test_prompt_only_checkpoint_round_trip(tiny_mpa_cfg, images):
    model = full_model(tiny_mpa_cfg, seed=0)
    model.eval()
    state = model.state_dict()
    assert set(state) == TRAINABLE | {'head.prototypes',
                                      'head.prototypes_set'}
    buffer = io.BytesIO()
    torch.save(state, buffer)
    assert buffer.getbuffer().nbytes < 2**20
    buffer.seek(0)
    with torch.no_grad():
        expected = model(images)

    fresh = MODELS.build(tiny_mpa_cfg())  # other random prompts
    fresh.eval()
    with torch.no_grad():
        assert not torch.allclose(fresh(images), expected)
        assert fresh(images).shape == expected.shape  # fills the text cache
    result = fresh.load_state_dict(
        torch.load(buffer, weights_only=True), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    assert fresh.head.has_prototypes
    with torch.no_grad():
        torch.testing.assert_close(fresh(images), expected, rtol=0, atol=0)

    missing = dict(state)
    missing.pop('backbone.prompts')
    with pytest.raises(RuntimeError, match='Missing key.*backbone.prompts'):
        fresh.load_state_dict(missing)
    other = MODELS.build(tiny_mpa_cfg(backbone=dict(num_prompts=2)))
    with pytest.raises(ValueError, match=r"'backbone.prompts' has shape "
                       r'\(2, 4, 64\) but this model expects \(2, 2, 64\)'):
        other.load_state_dict(state)
    # Also when loading non-strictly, as mmengine's load_checkpoint and
    # mmpretrain's get_model do: a mismatch must not leave random prompts.
    from mmengine.runner.checkpoint import load_state_dict
    with pytest.raises(ValueError, match='backbone.prompts'):
        load_state_dict(other, state, strict=False)


def test_mmengine_checkpoint_functions(tiny_mpa_cfg, tmp_path, images):
    from mmengine.runner.checkpoint import (
        get_state_dict,
        load_checkpoint,
        save_checkpoint,
    )
    model = full_model(tiny_mpa_cfg, seed=1)
    model.eval()
    assert set(get_state_dict(model)) == set(model.state_dict())
    path = str(tmp_path / 'prompts.pth')
    save_checkpoint({'state_dict': get_state_dict(model)}, path)
    fresh = MODELS.build(tiny_mpa_cfg())
    fresh.eval()
    load_checkpoint(fresh, path, strict=True)
    with torch.no_grad():
        torch.testing.assert_close(fresh(images), model(images), rtol=0,
                                   atol=0)
    # `pretrained=` (an init_cfg of type Pretrained) loads the prompts too
    init = MODELS.build(tiny_mpa_cfg(pretrained=path))
    init.init_weights()
    init.eval()
    with torch.no_grad():
        torch.testing.assert_close(init(images), model(images), rtol=0,
                                   atol=0)


def test_clip_spec_given_once(tiny_mpa_cfg, tiny_clip_spec):
    cfg = tiny_mpa_cfg()
    other = copy.deepcopy(tiny_clip_spec)
    other['quick_gelu'] = False
    cfg['head']['clip'] = other
    with pytest.raises(ValueError, match='head.clip=.* differs'):
        MODELS.build(cfg)
    cfg = tiny_mpa_cfg()
    cfg['backbone']['clip'] = cfg.pop('clip')
    cfg['head']['clip'] = copy.deepcopy(cfg['backbone']['clip'])
    model = MODELS.build(cfg)  # per-module specs still work
    assert model.backbone.out_patches is True


def test_local_branch_needs_patches(tiny_mpa_cfg, images):
    model = MODELS.build(
        tiny_mpa_cfg(backbone=dict(out_patches=False),
                     head=dict(loss_align=None, loss_proto=None)))
    with pytest.raises(ValueError, match='needs patch features'):
        model(images)


@pytest.mark.parametrize('name, trainable, losses', [
    ('mpa_fer_vit_b16.py', TRAINABLE,
     {'loss_cls', 'loss_align', 'loss_proto'}),
    ('zsclip_vit_b16.py', set(), None),
    ('coop_vit_b16.py', {'head.prompt_learner.ctx'}, {'loss_cls'}),
    ('kgcoop_vit_b16.py', {'head.prompt_learner.ctx'},
     {'loss_cls', 'loss_align'}),
    ('ivlp_vit_b16.py', TRAINABLE, {'loss_cls'}),
])
def test_base_configs_make_the_baselines(tiny_clip_spec, tiny_descriptions,
                                         images, name, trainable, losses):
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(CONFIG_DIR, name))
    assert 'default_scope' not in cfg
    cfg.model.clip = copy.deepcopy(tiny_clip_spec)
    cfg.model.head.descriptions = tiny_descriptions
    cfg.model.head.topk_patches = 4
    model = MODELS.build(cfg.model)
    assert tuple(model.head.classnames) == FER7_CLASSES
    assert {n for n, p in model.named_parameters()
            if p.requires_grad} == trainable
    if name.startswith('kgcoop'):
        assert model.head.prompt_learner.ctx.shape == (4, 64)
        assert model.head.hard_prompts.prompt_texts[0] == [
            'a photo of anger.'
        ]
    if losses is None:
        return
    model.head.set_prototypes(torch.randn(7, 32))
    model.train()
    assert set(model(images, samples([0, 1, 2]), mode='loss')) == losses


def test_vit_l14_config(tiny_clip_spec):
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(CONFIG_DIR, 'mpa_fer_vit_l14.py'))
    assert cfg.model.clip.model_name == 'ViT-L-14'
    assert cfg.model.backbone.num_prompts == 8


class ColorFaces(torch.utils.data.Dataset):
    """14 procedurally drawn 32 px images: one base colour per class."""

    metainfo = dict(classes=FER7_CLASSES)

    def __init__(self):
        gen = torch.Generator().manual_seed(0)
        palette = torch.randint(0, 256, (7, 3), generator=gen).float()
        self.items = []
        for i in range(14):
            noise = 30 * torch.randn(3, 32, 32, generator=gen)
            img = (palette[i % 7].view(3, 1, 1) + noise).clamp(0, 255)
            self.items.append((img.to(torch.uint8), i % 7))

    def __len__(self):
        return len(self.items)

    def __getitem__(self, idx):
        img, label = self.items[idx]
        return dict(inputs=img, data_samples=DataSample().set_gt_label(label))


def test_runner_training_decreases_loss(tiny_mpa_cfg, tmp_path):
    from mmengine.hooks import Hook
    from mmengine.logging import MessageHub, MMLogger
    from mmengine.runner import Runner
    from mmengine.visualization import Visualizer

    class Record(Hook):

        def __init__(self):
            self.losses = []

        def after_train_iter(self, runner, batch_idx, data_batch=None,
                             outputs=None):
            self.losses.append(
                {k: float(outputs[k]) for k in ('loss_cls', 'loss_align')})

    torch.manual_seed(0)
    model = MODELS.build(tiny_mpa_cfg())
    dataset = ColorFaces()
    with torch.no_grad():  # Eq. 6 prototypes from the frozen path
        batch = model.data_preprocessor(
            dict(inputs=[d['inputs'] for d in dataset],
                 data_samples=[d['data_samples'] for d in dataset]))
        frozen = model.backbone.forward_frozen(batch['inputs'])[0]
    labels = torch.tensor([int(d.gt_label) for d in batch['data_samples']])
    model.head.set_prototypes(class_mean_prototypes(frozen, labels, 7))
    record = Record()
    runner = Runner(
        model=model,
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=dataset, batch_size=7, num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=True),
            collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(
            type='OptimWrapper', optimizer=dict(type='SGD', lr=0.002)),
        train_cfg=dict(by_epoch=True, max_epochs=6),
        custom_hooks=[record, dict(type='MPAClassNameCheckHook')],
        default_hooks=dict(checkpoint=dict(type='CheckpointHook',
                                           interval=6)),
        randomness=dict(seed=0),
        default_scope='mmpretrain',
        log_level='WARNING',
        experiment_name='mpa_fer_runner_test')
    try:
        runner.train()
    finally:
        MMLogger._instance_dict.clear()
        Visualizer._instance_dict.clear()
        MessageHub._instance_dict.clear()
    assert len(record.losses) == 12

    def first_last(key):
        values = [d[key] for d in record.losses]
        return sum(values[:2]), sum(values[-2:])

    # CE halves; L_t (at Eq. 3 scale it dominates the sum) keeps falling
    first, last = first_last('loss_cls')
    assert last < 0.5 * first
    first, last = first_last('loss_align')
    assert last < first
    # the checkpoint holds the prompts and prototypes only
    ckpt = torch.load(tmp_path / 'epoch_6.pth', weights_only=False)
    assert set(ckpt['state_dict']) == TRAINABLE | {'head.prototypes',
                                                   'head.prototypes_set'}
    assert osp.getsize(tmp_path / 'epoch_6.pth') < 2**20
    fresh = MODELS.build(tiny_mpa_cfg())
    fresh.load_state_dict(ckpt['state_dict'])
    fresh.eval()
    model.eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(fresh(x), model(x), rtol=0, atol=0)
    assert F.softmax(model(x), -1).shape == (2, 7)
