"""End to end through the real tools (subprocesses): train, resume, test.

Covers our tools/train.py and tools/test.py, mmpretrain's stock tools (with
the plugin loaded only through ``custom_imports``) and a 2-process CPU
torchrun via tools/dist_train.sh that trains, gathers metrics across ranks
and resumes.
"""
import glob
import json
import os.path as osp
import pickle
import sys

import pytest
import torch
from tool_runner import free_port, run_tool

PY = sys.executable


def _log_text(work_dir: str) -> str:
    logs = sorted(glob.glob(osp.join(work_dir, '*', '*.log')))
    assert logs, f'no log under {work_dir}'
    return '\n'.join(open(p).read() for p in logs)


def _prompt_state(ckpt_path: str) -> dict:
    ckpt = torch.load(ckpt_path, map_location='cpu', weights_only=False)
    return ckpt['state_dict']


def test_train_resume_test_round_trip(small_world, tmp_path):
    cfg, work = small_world['config'], str(tmp_path / 'work')
    run_tool([PY, 'tools/train.py', cfg, '--work-dir', work])
    assert osp.isfile(osp.join(work, 'epoch_2.pth'))
    state2 = _prompt_state(osp.join(work, 'epoch_2.pth'))
    # Prompt-only checkpoints: no frozen CLIP weight is stored.
    assert state2 and all('ctx' in k or 'prompt' in k or 'proto' in k
                          for k in state2), sorted(state2)[:10]

    assert 'with_cp=True' not in _log_text(work)
    # Resume in the low-memory mode (checkpointing; the tool restarts
    # itself with the allocator settings): same run, continued.
    run_tool([PY, 'tools/train.py', cfg, '--work-dir', work, '--resume',
              '--low-memory', '--cfg-options', 'train_cfg.max_epochs=3'])
    assert 'resumed epoch: 2' in _log_text(work)
    assert 'with_cp=True' in _log_text(work)
    state3 = _prompt_state(osp.join(work, 'epoch_3.pth'))
    assert any(not torch.equal(state2[k], state3[k]) for k in state2)

    metrics_file = str(tmp_path / 'metrics.json')
    run_tool([PY, 'tools/test.py', cfg, osp.join(work, 'epoch_3.pth'),
              '--work-dir', str(tmp_path / 'test'), '--out', metrics_file,
              '--out-item', 'metrics'])
    metrics = json.load(open(metrics_file))
    assert 0 <= metrics['accuracy/top1'] <= 100
    confusion = torch.tensor(metrics['confusion_matrix/result'])
    assert int(confusion.sum()) == small_world['num_test']

    preds_file = str(tmp_path / 'preds.pkl')
    run_tool([PY, 'tools/test.py', cfg, osp.join(work, 'epoch_3.pth'),
              '--work-dir', str(tmp_path / 'test'), '--out', preds_file,
              '--tta'])
    preds = pickle.load(open(preds_file, 'rb'))
    assert len(preds) == small_world['num_test']
    assert preds[0]['pred_score'].shape == (7, )


def test_stock_mmpretrain_tools(small_world, tmp_path):
    import mmpretrain
    tools = osp.join(osp.dirname(mmpretrain.__file__), '.mim', 'tools')
    if not osp.isfile(osp.join(tools, 'train.py')):
        pytest.skip('mmpretrain was installed without its tools')
    cfg, work = small_world['config'], str(tmp_path / 'work')
    # Stock train.py sets persistent_workers=True with num_workers=0; the
    # plugin's shim (loaded via custom_imports) makes that work.
    run_tool([PY, osp.join(tools, 'train.py'), cfg, '--work-dir', work,
              '--cfg-options', 'train_cfg.max_epochs=1'])
    ckpt = osp.join(work, 'epoch_1.pth')
    assert osp.isfile(ckpt)
    out = str(tmp_path / 'metrics.pkl')
    run_tool([PY, osp.join(tools, 'test.py'), cfg, ckpt, '--work-dir', work,
              '--out', out, '--out-item', 'metrics'])
    with open(out, 'rb') as f:
        metrics = pickle.load(f)
    assert 'accuracy/top1' in metrics


def test_dist_train_two_processes_and_resume(small_world, tmp_path):
    cfg, work = small_world['config'], str(tmp_path / 'work')
    env = dict(PORT=str(free_port()), PYTHON=PY, OMP_NUM_THREADS='1')
    run_tool(['bash', 'tools/dist_train.sh', cfg, '2', '--work-dir', work],
             env=env)
    log = _log_text(work)
    assert 'Distributed launcher: pytorch' in log
    assert 'Distributed training: True' in log
    # Each rank sees half of the test split; the gathered confusion matrix
    # must count every test image exactly once.
    scalars = [json.loads(line) for line in open(glob.glob(
        osp.join(work, '*', 'vis_data', 'scalars.json'))[0])]
    assert any('accuracy/top1' in s for s in scalars)
    assert '"confusion_matrix/result"' not in log  # non-scalar: text only
    assert osp.isfile(osp.join(work, 'epoch_2.pth'))

    env['PORT'] = str(free_port())
    run_tool(['bash', 'tools/dist_train.sh', cfg, '2', '--work-dir', work,
              '--resume', '--cfg-options', 'train_cfg.max_epochs=3'],
             env=env)
    assert 'resumed epoch: 2' in _log_text(work)
    assert osp.isfile(osp.join(work, 'epoch_3.pth'))
    out = str(tmp_path / 'metrics.json')
    env['PORT'] = str(free_port())
    run_tool(['bash', 'tools/dist_test.sh', cfg,
              osp.join(work, 'epoch_3.pth'), '2', '--work-dir', work,
              '--out', out, '--out-item', 'metrics'], env=env)
    confusion = torch.tensor(json.load(open(out))['confusion_matrix/result'])
    assert int(confusion.sum()) == small_world['num_test']
