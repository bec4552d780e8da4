"""tools/test.py: flags merged into the config, result dumping."""
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from tool_loader import ROOT, load_tool

sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.abspath(
    __file__))), 'test_apis'))
from broken_checkpoints import EXPECTED, write_variants  # noqa: E402
from mpa_world import get_world  # noqa: E402

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


#: The inference world's config has a training set but no schedule.
TEST_ONLY = ['--cfg-options', 'train_dataloader=None']


@pytest.fixture(scope='module')
def broken(tmp_path_factory, tiny_clip_spec):
    world = get_world(tmp_path_factory, tiny_clip_spec)
    return world, write_variants(world, tmp_path_factory.mktemp('broken'))



@pytest.mark.usefixtures('clean_runner_singletons')
@pytest.mark.parametrize('variant', ['empty', 'no_prompts', 'numpy_ctx',
                                     'nan_prompts', 'inf_ctx',
                                     'class_order', 'flipped'])
def test_broken_checkpoint_refused(broken, variant, tmp_path):
    """No metric from an incomplete, non-finite, other-class or corrupt
    checkpoint (mmengine alone logs "missing keys" and tests the untrained
    prompts)."""
    world, paths = broken
    with pytest.raises((ValueError, RuntimeError),
                       match=EXPECTED[variant]):
        test_tool.main([world['config'], paths[variant], '--work-dir',
                        str(tmp_path), '--out', str(tmp_path / 'm.json'),
                        '--out-item', 'metrics', *TEST_ONLY])
    assert not (tmp_path / 'm.json').exists()


def test_refusal_is_a_nonzero_exit(broken, tmp_path):
    world, paths = broken
    env = dict(os.environ, HF_HUB_OFFLINE='1', OMP_NUM_THREADS='1',
               PYTHONWARNINGS='ignore')
    proc = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'test.py'), world['config'],
         paths['empty'], '--work-dir', str(tmp_path), *TEST_ONLY],
        cwd=str(tmp_path),
        env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert EXPECTED['empty'] in proc.stderr
    assert 'accuracy/top1' not in proc.stdout + proc.stderr


@pytest.mark.usefixtures('clean_runner_singletons')
def test_whole_checkpoint_is_tested(broken, tmp_path):
    world, _ = broken
    metrics = test_tool.main([world['config'], world['ckpt'], '--work-dir',
                              str(tmp_path), *TEST_ONLY])
    assert 0 <= metrics['accuracy/top1'] <= 100


def test_image_as_config_gives_the_usage(tmp_path):
    image = tmp_path / 'face.jpg'
    image.write_bytes(b'\xff\xd8\xff')
    with pytest.raises(ValueError, match=r'is not a config file .*Usage: '
                       r'tools/test.py CONFIG'):
        test_tool.main([str(image), 'none'])
