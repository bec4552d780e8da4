"""Safe checkpoint loading and atomic saves.

A toy mmengine Runner (a linear model, no CLIP) writes real mmengine
checkpoints (message hub with HistoryBuffers and numpy scalars) in a second.
"""
import os
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine.logging import HistoryBuffer
from mmengine.model import BaseModel
from mmengine.runner import CheckpointLoader, Runner, load_checkpoint
from torch.utils.data import Dataset

import mpa_fer_plugin  # noqa: F401  (installs the shims)
from mpa_fer_plugin.utils.safe_checkpoint import (
    CorruptCheckpointError,
    UnsafeCheckpointError,
    checkpoint_safe_globals,
    find_latest_complete_checkpoint,
    is_complete_checkpoint,
)
from mpa_fer_plugin.utils.tool_utils import TRUST_ENV, apply_runtime_args


class ToyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.linear(torch.stack(inputs))
        if mode == 'loss':
            return dict(loss=(out - torch.stack(data_samples)).pow(2).mean())
        return out


class ToyData(Dataset):

    def __init__(self):
        gen = torch.Generator().manual_seed(0)
        self.x = torch.randn(8, 2, generator=gen)

    def __len__(self):
        return 8

    def __getitem__(self, i):
        return dict(inputs=self.x[i], data_samples=self.x[i, :1])


def toy_runner(work_dir, epochs, resume=False, max_keep=1):
    return Runner(
        model=ToyModel(), work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=ToyData(), batch_size=4, num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=True)),
        train_cfg=dict(by_epoch=True, max_epochs=epochs),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        default_hooks=dict(checkpoint=dict(
            type='CheckpointHook', interval=1, max_keep_ckpts=max_keep)),
        randomness=dict(seed=0), resume=resume,
        # the plugin's scope: a runner without one leaves 'mmengine' as the
        # current scope, which later registry builds of other tests see
        default_scope='mmpretrain')


@pytest.fixture(autouse=True)
def _untrusted(monkeypatch):
    monkeypatch.delenv(TRUST_ENV, raising=False)


def _last(work_dir):
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        return f.read().strip()


# -------------------------------------------------------------------- loading
class Payload:
    """Unpickling this runs ``exec`` (writes a marker file)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (exec, (f'open({self.marker!r}, "w").write("ran")', ))


def test_malicious_checkpoint_not_executed_by_default(tmp_path, monkeypatch):
    marker = str(tmp_path / 'marker')
    path = str(tmp_path / 'evil.pth')
    torch.save({'state_dict': ToyModel().state_dict(),
                'meta': {'note': Payload(marker)}}, path)
    for load in (lambda: CheckpointLoader.load_checkpoint(path),
                 lambda: load_checkpoint(ToyModel(), path)):  # get_model
        with pytest.raises(UnsafeCheckpointError) as err:
            load()
        assert not osp.exists(marker)
        msg = str(err.value)
        assert path in msg and 'exec' in msg
        assert '--trust-checkpoint' in msg and TRUST_ENV in msg
    # The explicit opt-in (what --trust-checkpoint sets) loads it.
    apply_runtime_args(type('Args', (), {'trust_checkpoint': True})())
    assert os.environ[TRUST_ENV] == '1'
    CheckpointLoader.load_checkpoint(path)
    assert open(marker).read() == 'ran'


def test_getattr_limited_to_history_buffer_statistics(tmp_path):
    class Sneaky:
        def __reduce__(self):
            return (getattr, (HistoryBuffer, 'update'))

    path = str(tmp_path / 'sneaky.pth')
    torch.save({'meta': Sneaky()}, path)
    with pytest.raises(UnsafeCheckpointError, match='update'):
        CheckpointLoader.load_checkpoint(path)


def test_bytes_only_for_data(tmp_path):
    import numpy as np
    path = str(tmp_path / 'empty.pth')
    torch.save({'meta': {'empty': np.zeros(0)}}, path)  # pickles bytes()
    loaded = CheckpointLoader.load_checkpoint(path)
    assert loaded['meta']['empty'].shape == (0, )

    class Bomb:
        def __reduce__(self):
            return (bytes, (10**6, ))

    torch.save({'meta': Bomb()}, path)
    with pytest.raises(UnsafeCheckpointError, match='bytes'):
        CheckpointLoader.load_checkpoint(path)


def test_mmengine_checkpoints_load_safely_and_need_only_the_list(tmp_path):
    toy_runner(tmp_path, epochs=1, max_keep=-1).train()
    path = str(tmp_path / 'epoch_1.pth')
    needed = set(torch.serialization.get_unsafe_globals_in_checkpoint(path))
    assert 'mmengine.logging.history_buffer.HistoryBuffer' in needed
    allowed = set()
    for item in checkpoint_safe_globals():
        if isinstance(item, tuple):
            allowed.add(item[1])
        else:
            allowed.add(f'{item.__module__}.{item.__qualname__}')
    assert needed <= allowed, needed - allowed
    ckpt = CheckpointLoader.load_checkpoint(path)
    assert isinstance(ckpt['message_hub']['log_scalars']['train/loss'],
                      HistoryBuffer)
    # and resume (the message hub, optimizer) works on it
    runner = toy_runner(tmp_path, epochs=2, resume=True, max_keep=-1)
    runner.train()
    assert runner.epoch == 2 and is_complete_checkpoint(
        str(tmp_path / 'epoch_2.pth'))


# --------------------------------------------------------------------- saving
def test_kill_during_save_keeps_previous_checkpoint(tmp_path, monkeypatch):
    """max_keep_ckpts=1: mmengine deleted epoch_1 before writing epoch_2."""
    toy_runner(tmp_path, epochs=1).train()
    first = str(tmp_path / 'epoch_1.pth')
    assert _last(tmp_path) == first
    real_save = torch.save

    def killed_save(obj, f, *args, **kwargs):
        real_save({'partial': torch.zeros(1000)}, f)  # some bytes, then ...
        raise KeyboardInterrupt('killed while saving')

    monkeypatch.setattr(torch, 'save', killed_save)
    with pytest.raises(KeyboardInterrupt):
        toy_runner(tmp_path, epochs=2, resume=True).train()
    monkeypatch.setattr(torch, 'save', real_save)
    assert is_complete_checkpoint(first), 'the previous checkpoint was lost'
    assert not osp.exists(tmp_path / 'epoch_2.pth')
    assert _last(tmp_path) == first
    assert not [n for n in os.listdir(tmp_path) if n.endswith('.tmp')]
    runner = toy_runner(tmp_path, epochs=2, resume=True)
    runner.train()  # resumes from epoch 1 and finishes
    assert runner.epoch == 2 and _last(tmp_path) == str(
        tmp_path / 'epoch_2.pth')
    assert not osp.exists(first)  # removed only after epoch_2 was complete


def test_truncated_checkpoint_named_and_resume_falls_back(tmp_path):
    toy_runner(tmp_path, epochs=2, max_keep=-1).train()
    good = str(tmp_path / 'epoch_2.pth')
    truncated = str(tmp_path / 'epoch_3.pth')
    data = open(good, 'rb').read()
    with open(truncated, 'wb') as f:
        f.write(data[:len(data) // 2])
    with open(tmp_path / 'last_checkpoint', 'w') as f:
        f.write(truncated)
    with pytest.raises(CorruptCheckpointError, match='epoch_3.pth.*trunc'):
        CheckpointLoader.load_checkpoint(truncated)
    assert find_latest_complete_checkpoint(str(tmp_path)) == good
    os.remove(truncated)  # a last_checkpoint naming a deleted file
    assert find_latest_complete_checkpoint(str(tmp_path)) == good
    runner = toy_runner(tmp_path, epochs=3, resume=True, max_keep=-1)
    runner.train()
    assert runner.epoch == 3 and is_complete_checkpoint(truncated)
