"""The tools refuse broken checkpoints before they produce a number.

Each tool loads through the check of
:mod:`mpa_fer_plugin.utils.checkpoint_check` (the model side) and the
integrity record (the file side); here every tool is run on a few broken
variants of the inference world's checkpoint (``broken_checkpoints.py``)
and must raise before it writes anything. ``tools/test.py`` and the
confusion-matrix tool are covered in their own test files.
"""
import os.path as osp
import sys

import cv2
import numpy as np
import pytest

sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.abspath(
    __file__))), 'test_apis'))
from broken_checkpoints import EXPECTED, write_variants  # noqa: E402
from mpa_world import get_world, load_tool  # noqa: E402

REFUSED = (ValueError, RuntimeError)
VARIANTS = ('no_prompts', 'nan_prompts', 'inf_ctx', 'numpy_ctx',
            'class_order', 'flipped')


@pytest.fixture(scope='module')
def broken(tmp_path_factory, tiny_clip_spec):
    world = get_world(tmp_path_factory, tiny_clip_spec)
    return world, write_variants(world, tmp_path_factory.mktemp('broken'))


@pytest.fixture(scope='module')
def face(tmp_path_factory):
    from mpa_fer_plugin.datasets import render_face
    path = tmp_path_factory.mktemp('face') / 'face.png'
    cv2.imwrite(str(path), render_face('Happiness',
                                       np.random.default_rng(0), size=48))
    return str(path)


@pytest.mark.parametrize('variant', VARIANTS)
def test_infer_never_writes_a_score_of_a_broken_checkpoint(
        broken, face, variant, tmp_path):
    world, paths = broken
    out = tmp_path / 'results.json'
    with pytest.raises(REFUSED, match=EXPECTED[variant]):
        load_tool('infer.py').main([face, world['config'], paths[variant],
                                    '--no-detect', '--out', str(out)])
    assert not out.exists()


def test_pipeline_video_export_and_cam_refuse(broken, face, tmp_path):
    from mpa_fer_plugin.apis.face import FERPipeline, write_video
    world, paths = broken
    with pytest.raises(REFUSED, match=EXPECTED['nan_prompts']):
        FERPipeline(world['config'], paths['nan_prompts'])
    video = write_video(str(tmp_path / 'v.avi'),
                        [cv2.imread(face)] * 3, fps=5)
    with pytest.raises(REFUSED, match=EXPECTED['flipped']):
        load_tool('infer_video.py').main([
            video, world['config'], paths['flipped'], '--out-csv',
            str(tmp_path / 'v.csv')])
    assert not (tmp_path / 'v.csv').exists()
    with pytest.raises(REFUSED, match=EXPECTED['no_prompts']):
        load_tool('deployment/export_onnx.py').main([
            world['config'], paths['no_prompts'], '--out',
            str(tmp_path / 'm.onnx')])
    assert not (tmp_path / 'm.onnx').exists()
    pytest.importorskip('pytorch_grad_cam')
    with pytest.raises(REFUSED, match=EXPECTED['class_order']):
        load_tool('visualization/vis_cam.py').main([
            face, world['config'], paths['class_order'], '--save-path',
            str(tmp_path / 'cam.png')])
    assert not (tmp_path / 'cam.png').exists()
