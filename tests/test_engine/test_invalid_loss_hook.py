"""The invalid-loss guard."""
import glob
import os.path as osp
import subprocess
import sys
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from mmpretrain.registry import HOOKS

import mpa_fer_plugin  # noqa: F401
from mpa_fer_plugin.engine.hooks import NonFiniteLossError

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _finite(path):
    state = torch.load(path, map_location='cpu',
                       weights_only=False)['state_dict']
    return all(bool(torch.isfinite(v).all()) for v in state.values()
               if v.is_floating_point())


def test_nan_run_stops_with_nonzero_exit(small_world, tmp_path):
    """tools/train.py with lr=1e6: exit != 0, message, finite checkpoint."""
    work = str(tmp_path / 'work')
    proc = subprocess.run(
        [sys.executable, 'tools/train.py', small_world['config'],
         '--work-dir', work, '--cfg-options',
         'optim_wrapper.optimizer.lr=1e6', 'model.head.descriptions=None',
         'train_cfg.max_epochs=3'],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={'OMP_NUM_THREADS': '1', 'HF_HUB_OFFLINE': '1',
             'PATH': '/usr/bin:/bin', 'PYTHONWARNINGS': 'ignore'})
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    assert 'NonFiniteLossError: non-finite loss at iteration' in out
    assert 'loss_cls=nan' in out and 'learning rate (now 1e+06' in out
    assert 'logit scale' in out
    last = osp.join(work, 'last_checkpoint')
    if osp.exists(last):  # never a non-finite checkpoint
        assert _finite(open(last).read().strip())
    for path in glob.glob(osp.join(work, '*.pth')):
        assert _finite(path), path


def test_huge_logit_scale_stops_in_first_iterations(small_world, tmp_path):
    cfg = Config.fromfile(small_world['config'])
    cfg.merge_from_dict({'model.head.logit_scale': 1e30,
                         'model.head.descriptions': None})
    cfg.work_dir = str(tmp_path / 'work')
    runner = Runner.from_cfg(cfg)
    with pytest.raises(NonFiniteLossError,
                       match=r'iteration [12] .*logit scale \(now 1e\+30'):
        runner.train()
    assert not glob.glob(osp.join(cfg.work_dir, '*.pth'))


def _fake_runner(weight):
    model = torch.nn.Linear(1, 1)
    return SimpleNamespace(
        iter=4, epoch=0, model=model,
        message_hub=SimpleNamespace(log_scalars={},
                                    get_info=lambda key: None),
        optim_wrapper=SimpleNamespace(get_lr=lambda: {'lr': [0.5]}),
        logger=SimpleNamespace(error=lambda msg: None))


def test_finite_losses_pass_and_nonfinite_weights_are_not_saved():
    hook = HOOKS.build(dict(type='MPAInvalidLossHook'))
    runner = _fake_runner(1.0)
    hook.after_train_iter(runner, 0, outputs={'loss': torch.tensor(1.0),
                                              'acc': float('nan')})
    with pytest.raises(NonFiniteLossError, match='loss_x=inf'):
        hook.after_train_iter(runner, 0, outputs={
            'loss': torch.tensor(1.0), 'loss_x': torch.tensor(float('inf'))})
    ok = {'state_dict': {'w': torch.ones(2)}}
    hook.before_save_checkpoint(runner, ok)
    with pytest.raises(NonFiniteLossError, match=r"refusing to save.*'w'"):
        hook.before_save_checkpoint(
            runner, {'state_dict': {'w': torch.tensor([1.0, float('nan')])}})
    off = HOOKS.build(dict(type='MPAInvalidLossHook',
                           check_checkpoint=False))
    off.before_save_checkpoint(
        runner, {'state_dict': {'w': torch.tensor([float('nan')])}})
