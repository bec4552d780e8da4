"""The integrity record of checkpoints (written at save, checked at load).

The model-side checks (missing, mis-typed, non-finite tensors, other class
order) are tested on real MPA-FER checkpoints in
``tests/test_apis/test_inference.py`` and the tool tests.
"""
import os.path as osp
import sys

import mmengine.runner.checkpoint as mm_checkpoint
import numpy as np
import pytest
import torch
from mmengine.runner import CheckpointLoader

import mpa_fer_plugin  # noqa: F401  (installs the shims)
from mpa_fer_plugin.utils import checkpoint_check
from mpa_fer_plugin.utils.checkpoint_check import (
    INTEGRITY_KEY,
    IntegrityError,
    integrity_record,
    with_integrity_record,
)
from mpa_fer_plugin.utils.safe_checkpoint import (
    CorruptCheckpointError,
    atomic_torch_save,
)

sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.abspath(
    __file__))), 'test_apis'))
from broken_checkpoints import flip_tensor_byte  # noqa: E402


def _ckpt():
    gen = torch.Generator().manual_seed(0)
    return {'meta': {'epoch': 1, 'dataset_meta': {'classes': ('a', 'b')}},
            'state_dict': {'backbone.prompts': torch.randn(2, 3, 8,
                                                           generator=gen),
                           'head.ctx': torch.randn(4, 8, generator=gen),
                           'head.flag': torch.tensor(True)}}


def test_record_written_at_save_without_touching_the_caller(tmp_path):
    ckpt = _ckpt()
    path = str(tmp_path / 'a.pth')
    atomic_torch_save(ckpt, path)
    assert INTEGRITY_KEY not in ckpt['meta']  # the caller's dict as it was
    loaded = CheckpointLoader.load_checkpoint(path)
    record = loaded['meta'][INTEGRITY_KEY]
    assert record == integrity_record(ckpt['state_dict'])
    assert sorted(record['tensors']) == sorted(ckpt['state_dict'])
    # mmengine's own save function is routed through the same writer
    mm_checkpoint.save_checkpoint(ckpt, str(tmp_path / 'b.pth'))
    assert INTEGRITY_KEY in CheckpointLoader.load_checkpoint(
        str(tmp_path / 'b.pth'))['meta']
    # things that are no training checkpoint are saved as they are
    assert with_integrity_record([1, 2]) == [1, 2]
    assert with_integrity_record({'x': 1}) == {'x': 1}


def test_flipped_byte_inside_a_tensor_is_refused(tmp_path):
    path = str(tmp_path / 'flipped.pth')
    atomic_torch_save(_ckpt(), path)
    flip_tensor_byte(path)
    # torch itself reads the file without a complaint ...
    raw = torch.load(path, weights_only=False)
    assert not torch.equal(raw['state_dict']['backbone.prompts'],
                           _ckpt()['state_dict']['backbone.prompts'])
    # ... the plugin's loader does not
    with pytest.raises(IntegrityError, match=r"flipped.pth is corrupt: the "
                       r"bytes of 'backbone.prompts' differ"):
        CheckpointLoader.load_checkpoint(path)
    assert issubclass(IntegrityError, CorruptCheckpointError)


def test_record_survives_meta_edits_and_detects_state_edits(tmp_path):
    path = str(tmp_path / 'c.pth')
    atomic_torch_save(_ckpt(), path)
    ckpt = CheckpointLoader.load_checkpoint(path)
    # other tools add meta keys and rewrite the file: still valid
    ckpt['meta']['model_card'] = {'name': 'x'}
    ckpt['meta']['calibration'] = {'temperature': 1.5}
    torch.save(ckpt, path)  # even without re-recording
    assert CheckpointLoader.load_checkpoint(path)['meta']['calibration']
    # a tensor swapped for a numpy array, a removed and an added key
    ckpt['state_dict']['head.ctx'] = ckpt['state_dict']['head.ctx'].numpy()
    del ckpt['state_dict']['head.flag']
    ckpt['state_dict']['head.new'] = torch.zeros(1)
    torch.save(ckpt, path)
    with pytest.raises(IntegrityError) as err:
        CheckpointLoader.load_checkpoint(path)
    msg = str(err.value)
    assert "'head.ctx' differ" in msg
    assert "'head.flag' recorded but missing" in msg
    assert "'head.new' present but not recorded" in msg
    # an unreadable record
    ckpt = _ckpt()
    ckpt['meta'][INTEGRITY_KEY] = {'algorithm': 'md5'}
    torch.save(ckpt, path)
    with pytest.raises(IntegrityError, match='record .* is unreadable'):
        CheckpointLoader.load_checkpoint(path)


def test_checkpoint_without_record_loads_with_one_note(tmp_path,
                                                       monkeypatch):
    import mmengine.logging
    notes = []
    monkeypatch.setattr(mmengine.logging, 'print_log',
                        lambda msg, **kw: notes.append(msg))
    path = str(tmp_path / 'old.pth')
    torch.save(_ckpt(), path)
    for _ in range(2):
        loaded = CheckpointLoader.load_checkpoint(path)
        assert torch.equal(loaded['state_dict']['head.ctx'],
                           _ckpt()['state_dict']['head.ctx'])
    assert len([n for n in notes if 'no integrity record' in n
                and path in n]) == 1


def test_digest_covers_dtype_shape_and_non_tensors():
    base = {'w': torch.zeros(2, 3)}
    digest = integrity_record(base)['digest']
    for other in ({'w': torch.zeros(3, 2)},
                  {'w': torch.zeros(2, 3).double()},
                  {'w': np.zeros((2, 3), np.float32)},
                  {'v': torch.zeros(2, 3)},
                  {'w': torch.zeros(2, 3), 'x': 'text'}):
        assert integrity_record(other)['digest'] != digest
    bf16 = {'w': torch.ones(4, dtype=torch.bfloat16)}
    assert integrity_record(bf16) == integrity_record(
        {'w': torch.ones(4, dtype=torch.bfloat16)})
    assert checkpoint_check.source_of(object()) == 'the checkpoint'


@pytest.mark.usefixtures('clean_runner_singletons')
def test_resume_and_load_from_refuse_broken_checkpoints(small_world,
                                                        tmp_path):
    """The Runner's own loading (resume, load_from) goes through the check.

    mmengine alone would resume NaN prompts (and train on from them) or
    load a checkpoint of another class order with a warning.
    """
    from mmengine.config import Config
    from mmengine.runner import Runner

    def runner(work_dir, epochs, **kwargs):
        cfg = Config.fromfile(small_world['config'])
        cfg.work_dir = str(work_dir)
        cfg.train_cfg.max_epochs = epochs
        cfg.train_cfg.val_interval = 10
        cfg.merge_from_dict(kwargs)
        return Runner.from_cfg(cfg)

    runner(tmp_path, 1).train()
    path = str(tmp_path / 'epoch_1.pth')
    ckpt = torch.load(path, weights_only=False)
    assert INTEGRITY_KEY in ckpt['meta']
    del ckpt['meta'][INTEGRITY_KEY]  # so that the NaN check speaks
    ckpt['state_dict']['backbone.prompts'][0, 0, 0] = float('nan')
    torch.save(ckpt, path)
    with pytest.raises(ValueError, match="'backbone.prompts' holds 1 "
                       'NaN'):
        runner(tmp_path, 2, resume=True).train()
    ckpt['state_dict']['backbone.prompts'][0, 0, 0] = 0.0
    classes = list(ckpt['meta']['dataset_meta']['classes'])
    ckpt['meta']['dataset_meta']['classes'] = classes[::-1]
    torch.save(ckpt, path)
    with pytest.raises(ValueError, match='wrong labels'):
        runner(tmp_path / 'fresh', 1, load_from=path).train()


def test_bare_state_dict_refusal_names_the_file(tmp_path):
    """``torch.save(model.state_dict())`` files are checked and named too."""
    from mmengine.runner import load_checkpoint

    class Head(torch.nn.Module):
        classnames = ('a', 'b')

        def __init__(self):
            super().__init__()
            self.ctx = torch.nn.Parameter(torch.zeros(2, 3))

    model = torch.nn.Module()
    model.head = Head()
    path = str(tmp_path / 'bare.pth')
    torch.save({'head.ctx': torch.full((2, 3), float('inf'))}, path)
    with pytest.raises(ValueError, match=r"bare.pth .*'head.ctx' holds 0 "
                       'NaN and 6 infinite'):
        load_checkpoint(model, path)
    torch.save({}, path)
    with pytest.raises(ValueError, match="bare.pth .*missing key 'head.ctx'"):
        load_checkpoint(model, path)
