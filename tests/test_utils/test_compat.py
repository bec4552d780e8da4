"""Tests of the stack shims in mpa_fer_plugin.utils.compat."""
import os
import socket
import warnings

import numpy as np
import pytest
import torch
import torch.distributed as torch_dist
from mmengine.logging import HistoryBuffer
from mmengine.runner import Runner
from mmengine.runner.checkpoint import CheckpointLoader, save_checkpoint

import mpa_fer_plugin  # noqa: F401
from mpa_fer_plugin.utils import compat, stack_check


def test_every_shim_applied_or_skipped_once():
    names = [name for name, _, _ in compat.SHIMS]
    assert names == [
        'safe_checkpoint_loading', 'atomic_checkpoint_saves',
        'plugin_safety_hooks', 'cpu_safe_dist_init',
        'ddp_cpu_device_ids', 'persistent_workers_without_workers',
        'dataset_copy_fresh_memo'
    ]
    applied = compat.apply_all()
    assert sorted(applied + list(compat.SKIPPED)) == sorted(names)
    # the security shim and the plugin's own hooks apply on every stack
    assert {'safe_checkpoint_loading', 'plugin_safety_hooks'} <= set(applied)
    stack = stack_check.detect_stack()
    if stack == 'upstream':  # mmengine 0.10.7 needs every fix
        assert applied == names and compat.SKIPPED == {}
    elif stack == 'onedl':  # onedl-mmengine 0.10.12 fixed the memo
        assert list(compat.SKIPPED) == ['dataset_copy_fresh_memo']
        assert compat.SKIPPED['dataset_copy_fresh_memo'].startswith('onedl')
    assert compat.apply_all() == compat.APPLIED  # idempotent


def test_mmengine_checkpoint_loads_under_weights_only_default(tmp_path):
    path = str(tmp_path / 'ckpt.pth')
    ckpt = {'state_dict': {'w': torch.ones(2)},
            'message_hub': {'loss': HistoryBuffer([1.0, 2.0], [1, 1])},
            'meta': {'seed': np.int64(3), 'arr': np.arange(3)}}
    save_checkpoint(ckpt, path)
    # Plain torch.load (weights_only=True by default) refuses it ...
    with pytest.raises(Exception, match='[Ww]eights only load failed'):
        torch.load(path)
    # ... but mmengine's loader, patched by the plugin, reads it (still
    # weights_only, with the allow-list of mmengine's types).
    loaded = CheckpointLoader.load_checkpoint(path, map_location='cpu')
    assert torch.equal(loaded['state_dict']['w'], torch.ones(2))
    assert loaded['meta']['seed'] == 3
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        CheckpointLoader.load_checkpoint(str(tmp_path / 'missing.pth'))


def test_build_dataloader_drops_persistent_workers_without_workers():
    loader = Runner.build_dataloader(
        dict(dataset=list(range(4)),
             sampler=dict(type='DefaultSampler', shuffle=False),
             batch_size=2, num_workers=0, persistent_workers=True))
    assert loader.persistent_workers is False
    assert compat.fix_persistent_workers(
        dict(num_workers=2, persistent_workers=True))['persistent_workers']


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.mark.skipif(torch.cuda.is_available(), reason='CPU-only behaviour')
def test_cpu_pytorch_launcher_and_ddp(monkeypatch):
    from mmengine.dist import init_dist
    from mmengine.model import MMDistributedDataParallel
    monkeypatch.setenv('MASTER_ADDR', '127.0.0.1')
    monkeypatch.setenv('MASTER_PORT', str(_free_port()))
    for key, value in dict(RANK='0', WORLD_SIZE='1', LOCAL_RANK='0').items():
        monkeypatch.setenv(key, value)
    registered = []
    monkeypatch.setattr(compat.atexit, 'register', registered.append)
    monkeypatch.setattr(compat.destroy_process_group_at_exit,
                        '_mpa_registered', False, raising=False)
    assert not torch_dist.is_initialized()
    init_dist('pytorch', backend='nccl')  # nccl is mapped to gloo on CPU
    try:
        assert torch_dist.get_backend() == 'gloo'
        wrapped = MMDistributedDataParallel(
            module=torch.nn.Linear(2, 2), device_ids=[0])
        assert wrapped.device_ids is None
        out = wrapped(torch.ones(1, 2))
        assert out.shape == (1, 2)
    finally:
        # The group is destroyed at exit by the handler the launch
        # registered (a gloo group left to finalisation can abort a rank).
        assert registered == [compat.destroy_process_group_at_exit]
        registered[0]()
        assert not torch_dist.is_initialized()
        registered[0]()  # a no-op once destroyed


def test_version_ranges_warn_not_assert(monkeypatch):
    monkeypatch.setitem(compat.TESTED_RANGES, 'torch', ('0.1', '0.2'))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        messages = compat.check_versions()
    assert any('torch>=0.1,<0.2' in m for m in messages)
    assert any('torch>=0.1,<0.2' in str(w.message) for w in caught)
    assert os.environ.get('HF_HUB_OFFLINE') == '1'


def test_dataset_copies_do_not_share_a_memo():
    from mmengine.dataset import BaseDataset

    class Toy(BaseDataset):
        def load_data_list(self):
            return [dict(i=i) for i in range(4)]

    first = Toy(pipeline=[], serialize_data=False)
    first.get_subset([0])
    # mmengine's shared default memo would now map id(first.pipeline) (and
    # id(first)) to the earlier copies; an object at a reused address
    # would be replaced by them. Each copy gets a fresh memo instead.
    memo_default = BaseDataset._copy_without_annotation.__defaults__
    assert memo_default == (None, )
    second = Toy(pipeline=[], serialize_data=False)
    sub = second.get_subset([1, 2])
    assert sub.pipeline is not first.pipeline
    assert type(sub.pipeline) is type(second.pipeline)
    assert [sub[i]['i'] for i in range(len(sub))] == [1, 2]
    # Deterministic form of the bug: with a shared memo, a second copy of
    # the same dataset got the first copy's pipeline back from the memo.
    a = second._copy_without_annotation()
    b = second._copy_without_annotation()
    assert a.pipeline is not b.pipeline
