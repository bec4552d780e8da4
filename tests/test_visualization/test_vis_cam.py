"""Our Grad-CAM tool for the prompted ViT (grad-cam 1.5 API)."""
import glob
import os.path as osp
import sys

import cv2
import numpy as np
import pytest
import torch
from mpa_world import load_tool

vis_cam = load_tool('visualization/vis_cam.py')


@pytest.mark.parametrize('batch_first', [True, False])
def test_reshape_drops_class_and_prompt_tokens(batch_first):
    extra, grid, width = 1 + 3, (4, 4), 8
    tokens = torch.randn(2, extra + 16, width)
    reshape = vis_cam.vit_reshape_transform(extra, grid, batch_first)
    out = reshape(tokens if batch_first else tokens.transpose(0, 1))
    assert out.shape == (2, width, 4, 4)
    # Patch (r, c) is token extra + 4 r + c.
    torch.testing.assert_close(out[:, :, 1, 2], tokens[:, extra + 6])
    with pytest.raises(ValueError, match='expected 4x4 patches'):
        vis_cam.vit_reshape_transform(1, grid, True)(tokens)


def test_resolve_layer(vis_model):
    blocks = vis_model.backbone.visual.transformer.resblocks
    assert vis_cam.resolve_layer(
        vis_model, vis_cam.DEFAULT_TARGET_LAYER) is blocks[-1].ln_1
    assert vis_cam.resolve_layer(
        vis_model, 'backbone.visual.transformer.resblocks.0.ln_2') is \
        blocks[0].ln_2
    with pytest.raises(ValueError, match="has no 'nope'"):
        vis_cam.resolve_layer(vis_model, 'backbone.nope')


def test_missing_grad_cam_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, 'pytorch_grad_cam', None)
    with pytest.raises(ImportError, match=r'mpa_fer_plugin\[cam\]'):
        vis_cam.import_grad_cam()


def test_grad_cam_png(vis_world, tmp_path):
    pytest.importorskip('pytorch_grad_cam')
    face = sorted(glob.glob(osp.join(vis_world['image_dir'],
                                     'test_*.jpg')))[0]
    out = tmp_path / 'cam.png'
    cam = vis_cam.main([face, vis_world['config'], vis_world['ckpt'],
                        '--save-path', str(out), '--target-category',
                        'surprise', '--display-size', '128'])
    assert cam.shape == (32, 32)
    assert np.isfinite(cam).all() and cam.min() >= 0
    assert cam.max() == pytest.approx(1.0, abs=1e-3)  # scaled, not flat
    framed = cv2.imread(str(out))  # CAM + title, colour bar, caption
    assert framed.shape[0] > 128 + 60 and framed.shape[1] >= 320
    vis_cam.main([face, vis_world['config'], vis_world['ckpt'],
                  '--save-path', str(out), '--display-size', '128',
                  '--no-legend'])
    assert cv2.imread(str(out)).shape == (128, 128, 3)
    with pytest.raises(ValueError, match="'Boredom' is not one of"):
        vis_cam.main([face, vis_world['config'], vis_world['ckpt'],
                      '--save-path', str(out), '--target-category',
                      'Boredom'])
