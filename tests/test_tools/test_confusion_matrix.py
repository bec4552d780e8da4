"""tools/analysis_tools/confusion_matrix.py on a checkpoint."""
import json
import os.path as osp
import sys

import cv2
import pytest

sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.abspath(
    __file__))), 'test_apis'))
from mpa_world import FER7, get_world, load_tool  # noqa: E402

cm_tool = load_tool('analysis_tools/confusion_matrix.py')


@pytest.fixture(scope='module')
def world(tmp_path_factory, tiny_clip_spec):
    return get_world(tmp_path_factory, tiny_clip_spec)


pytestmark = pytest.mark.usefixtures('clean_runner_singletons')


def test_plot_and_dump(world, tmp_path):
    png, out = tmp_path / 'cm.png', tmp_path / 'cm.json'
    matrix, classes = cm_tool.main([
        world['config'], world['ckpt'], '--show-path', str(png), '--out',
        str(out), '--include-values'
    ])
    assert tuple(classes) == FER7
    assert tuple(matrix.shape) == (7, 7)
    assert int(matrix.sum()) == world['num_test']
    assert json.loads(out.read_text()) == matrix.tolist()
    image = cv2.imread(str(png))
    assert image is not None and min(image.shape[:2]) > 200


def test_mismatched_checkpoint(world, tmp_path):
    with pytest.raises(ValueError, match=r'fer8_classes.pth.*8 classes'):
        cm_tool.main([world['config'], world['ckpt_classes'], '--show-path',
                      str(tmp_path / 'cm.png')])
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        cm_tool.main([world['config'], str(tmp_path / 'missing.pth')])


@pytest.fixture(scope='module')
def broken(world, tmp_path_factory):
    from broken_checkpoints import write_variants
    return write_variants(world, tmp_path_factory.mktemp('broken'))


@pytest.mark.parametrize('variant', ['no_prompts', 'nan_prompts',
                                     'flipped'])
def test_broken_checkpoints_refused(world, broken, variant, tmp_path):
    """Loaded by the Runner (load_from), checked where it enters the model."""
    from broken_checkpoints import EXPECTED
    with pytest.raises((ValueError, RuntimeError), match=EXPECTED[variant]):
        cm_tool.main([world['config'], broken[variant], '--show-path',
                      str(tmp_path / 'cm.png')])
    assert not (tmp_path / 'cm.png').exists()
