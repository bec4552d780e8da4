"""A tiny world for sweep tests: generated faces, tiny CLIP, CoOp config.

The config builds on the model/dataset/schedule bases (not on the demo
config, which other work changes), at 32 px with a 2-layer random CLIP:
one epoch of 28 faces and a test of 14 take about a second.
"""
import os.path as osp
import textwrap

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def write_config(path, data_root, clip, descriptions, extra=''):
    """Write a tiny CoOp-style config; return its path as str."""
    base = osp.join(ROOT, 'configs', '_base_')
    text = textwrap.dedent(f"""
    _base_ = [{osp.join(base, 'models', 'mpa_fer_vit_b16.py')!r},
              {osp.join(base, 'datasets', 'synthetic_fer.py')!r},
              {osp.join(base, 'schedules', 'sgd_cosine_120e.py')!r},
              {osp.join(base, 'default_runtime.py')!r}]
    data_root = {data_root!r}
    model = dict(
        clip=dict(_delete_=True, model_cfg={clip['model_cfg']!r},
                  pretrained={clip['pretrained']!r}),
        backbone=dict(num_prompts=2),
        head=dict(num_ctx=2, topk_patches=4, local_weight=0.0,
                  logit_scale='clip', descriptions={descriptions!r},
                  loss_align=None, loss_proto=None))
    pipe = [dict(type='LoadFERImage'),
            dict(type='ResizeEdge', scale=32, edge='short',
                 backend='pillow'),
            dict(type='CenterCrop', crop_size=32),
            dict(type='PackInputs')]
    train_dataloader = dict(batch_size=8, dataset=dict(
        data_root=data_root, pipeline=pipe))
    val_dataloader = dict(batch_size=16, dataset=dict(
        data_root=data_root, pipeline=pipe))
    test_dataloader = val_dataloader
    optim_wrapper = dict(optimizer=dict(lr=0.01))
    param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=True)]
    train_cfg = dict(max_epochs=1, val_interval=1)
    default_hooks = dict(logger=dict(interval=1))
    env_cfg = dict(dist_cfg=dict(backend='gloo'))
    log_level = 'WARNING'
    """) + textwrap.dedent(extra)
    with open(path, 'w') as f:
        f.write(text)
    return str(path)


@pytest.fixture(scope='session')
def sweep_world(tmp_path_factory, tiny_clip_spec, tiny_descriptions):
    """Data root and a tiny trainable config (CoOp + visual prompts)."""
    from mpa_fer_plugin.datasets.synthetic import generate_synthetic_fer
    root = tmp_path_factory.mktemp('sweep_world')
    data_root = str(root / 'data')
    generate_synthetic_fer(data_root, num_train=28, num_test=14, size=32,
                           seed=0)
    config = write_config(root / 'tiny.py', data_root, tiny_clip_spec,
                          tiny_descriptions)
    return dict(root=root, data_root=data_root, config=config,
                clip=tiny_clip_spec, descriptions=tiny_descriptions)


@pytest.fixture
def fake_tools(monkeypatch):
    """:class:`sweep_helpers.FakeTools` patched into the runner."""
    from sweep_helpers import FakeTools

    from mpa_fer_plugin.sweep import runner
    fake = FakeTools()
    monkeypatch.setattr(runner.subprocess, 'run', fake)
    return fake
