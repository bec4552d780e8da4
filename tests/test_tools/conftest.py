"""Fixtures for in-process tool tests."""
import os.path as osp
import sys

import pytest
from tool_loader import ROOT


@pytest.fixture(scope='session')
def small_world_cfg(tmp_path_factory):
    """A config inheriting the demo config, on tiny generated data."""
    from mpa_fer_plugin.datasets.synthetic import generate_synthetic_fer
    sys.path.insert(0, osp.join(ROOT, 'tools', 'misc'))
    try:
        from make_tiny_clip import make_tiny_clip
    finally:
        sys.path.pop(0)
    root = tmp_path_factory.mktemp('tool_world')
    data_root = str(root / 'data')
    generate_synthetic_fer(data_root, num_train=14, num_test=7, size=64,
                           seed=1)
    clip_path = make_tiny_clip(str(root / 'clip'), seed=0)
    cfg = root / 'tool_world.py'
    demo = osp.join(ROOT, 'configs', 'mpa_fer_demo.py')
    cfg.write_text(f"""
_base_ = [{demo!r}]
data_root = {data_root!r}
model = dict(clip=dict(pretrained={clip_path!r}))
train_dataloader = dict(batch_size=7, dataset=dict(data_root=data_root))
val_dataloader = dict(batch_size=7, dataset=dict(data_root=data_root))
test_dataloader = dict(batch_size=7, dataset=dict(data_root=data_root))
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=True)]
default_hooks = dict(logger=dict(interval=1))
""")
    return str(cfg)
