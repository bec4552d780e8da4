"""tools/test.py: flags merged into the config, result dumping."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from tool_loader import ROOT, load_tool

test_tool = load_tool('test.py')
DEMO = osp.join(ROOT, 'configs', 'mpa_fer_demo.py')


def _merged(argv):
    args = test_tool.parse_args(argv)
    return test_tool.merge_args(Config.fromfile(args.config), args)


@pytest.fixture
def ckpt(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'ckpt.pth').write_bytes(b'')
    return 'ckpt.pth'


def test_checkpoint_work_dir_and_show_dir(ckpt):
    cfg = _merged([DEMO, 'ckpt.pth'])
    assert cfg.load_from == 'ckpt.pth'
    assert _merged([DEMO, 'none']).load_from is None
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        _merged([DEMO, 'missing.pth'])
    assert cfg.work_dir == osp.join('./work_dirs', 'mpa_fer_demo')
    cfg = _merged([DEMO, 'ckpt.pth', '--show-dir', 'vis', '--interval', '3'])
    vis = cfg.default_hooks.visualization
    assert vis.enable is True and vis.out_dir == 'vis' and vis.interval == 3


def test_tta_wraps_model_and_pipeline(ckpt):
    cfg = _merged([DEMO, 'ckpt.pth', '--tta'])
    assert cfg.model.type == 'mmpretrain.AverageClsScoreTTA'
    assert cfg.model.module.type == 'MPAFERClassifier'
    last = cfg.test_dataloader.dataset.pipeline[-1]
    assert last.type == 'TestTimeAug'
    assert [t.prob for t in last.transforms[0]] == [1., 0.]


def test_amp_and_out_item_validation(ckpt):
    assert _merged([DEMO, 'ckpt.pth', '--amp']).test_cfg.fp16 is True
    with pytest.raises(SystemExit):
        test_tool.parse_args([DEMO, 'ckpt.pth', '--out-item', 'metrics'])
    with pytest.raises(ValueError, match='.pkl'):
        test_tool.main([DEMO, 'ckpt.pth', '--out', 'preds.json'])


def test_to_builtin_makes_metrics_json_ready():
    out = test_tool.to_builtin({'cm': torch.eye(2), 'per': [np.float64(1.5)],
                                'acc': 50.0, 't': (1, 2)})
    assert out == {'cm': [[1.0, 0.0], [0.0, 1.0]], 'per': [1.5],
                   'acc': 50.0, 't': [1, 2]}


def test_show_dir_writes_upscaled_drawings(small_world, tmp_path):
    """--show-dir upscales the 64 px crops so the labels are legible."""
    import mmcv
    vis = tmp_path / 'vis'
    test_tool.main([small_world['config'], 'none', '--work-dir',
                    str(tmp_path / 'work'), '--show-dir', str(vis),
                    '--interval', '7', '--show-size', '256'])
    files = sorted(vis.rglob('*.png'))
    assert files  # every 7th of the 14 test faces
    for f in files:
        assert min(mmcv.imread(str(f)).shape[:2]) == 256
