"""Fixtures for the end-to-end tool tests: a small world on disk.

The world is the demo's (generated faces in the RAF-DB layout and the tiny
demo CLIP, written by the project's own tools), shrunk so that one epoch
takes a second or two on CPU.
"""
import os.path as osp
import sys

import pytest
from tool_runner import ROOT


@pytest.fixture(scope='session')
def small_world(tmp_path_factory):
    """Write tiny data + CLIP and a config inheriting the demo config."""
    from mpa_fer_plugin.datasets.synthetic import generate_synthetic_fer
    sys.path.insert(0, osp.join(ROOT, 'tools', 'misc'))
    try:
        from make_tiny_clip import make_tiny_clip
    finally:
        sys.path.pop(0)
    root = tmp_path_factory.mktemp('world')
    data_root = str(root / 'data')
    generate_synthetic_fer(data_root, num_train=28, num_test=14, size=64,
                           seed=0)
    clip_path = make_tiny_clip(str(root / 'clip'), seed=0)
    config = root / 'small_demo.py'
    config.write_text(f"""
_base_ = [{osp.join(ROOT, 'configs', 'mpa_fer_demo.py')!r}]
data_root = {data_root!r}
model = dict(clip=dict(pretrained={clip_path!r}))
train_dataloader = dict(batch_size=8, dataset=dict(data_root=data_root))
val_dataloader = dict(batch_size=8, dataset=dict(data_root=data_root))
test_dataloader = dict(batch_size=8, dataset=dict(data_root=data_root))
train_cfg = dict(max_epochs=2, val_interval=1)
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=True)]
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(interval=1, max_keep_ckpts=5))
""")
    return dict(root=root, config=str(config), data_root=data_root,
                clip=clip_path, num_test=14)
