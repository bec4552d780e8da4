"""CGLA heatmaps: values consistent with the scores, PNG of the right size."""
import glob
import os.path as osp

import cv2
import numpy as np
import pytest
import torch


@pytest.fixture(scope='module')
def face(vis_world):
    return sorted(glob.glob(osp.join(vis_world['image_dir'],
                                     'test_*.jpg')))[0]


def test_maps_match_the_cgla_score(vis_model, face):
    from mpa_fer_plugin.apis import prepare_images
    from mpa_fer_plugin.visualization import cgla_heatmap, cgla_patch_maps
    maps = cgla_patch_maps(vis_model, face)
    head = vis_model.head
    assert maps['similarity'].shape == (4, 4)  # 32 px / 8 px patches
    assert maps['similarity'].dtype == np.float32
    assert maps['topk_mask'].sum() == head.topk_patches
    assert maps['crop'].shape == (32, 32, 3)
    # Top-k patches are the most similar ones, and their mean is S_local.
    sims = maps['similarity'][maps['topk_mask']]
    assert sims.min() >= maps['similarity'][~maps['topk_mask']].max()
    assert maps['local_sim'] == pytest.approx(float(sims.mean()), abs=1e-6)
    # s_g + S_local is the model's logit of the class (Eq. 10).
    inputs, _ = prepare_images(vis_model, [face])
    with torch.no_grad():
        logits = vis_model(inputs, mode='tensor')[0]
    assert maps['class_index'] == int(logits.argmax())
    assert head.logit_scale * (maps['global_sim'] + maps['local_sim']) == \
        pytest.approx(float(logits[maps['class_index']]), abs=1e-3)
    assert maps['score'] == pytest.approx(
        float(logits.softmax(-1).max()), abs=1e-5)
    np.testing.assert_allclose(
        cgla_heatmap(vis_model, face, maps['class_name']),
        maps['similarity'], atol=1e-6)


def test_chosen_class_case_insensitive(vis_model, face):
    from mpa_fer_plugin.visualization import cgla_patch_maps
    maps = cgla_patch_maps(vis_model, face, class_name='happiness')
    assert maps['class_name'] == 'Happiness' and maps['class_index'] == 4
    with pytest.raises(ValueError, match="'Boredom' is not one of"):
        cgla_patch_maps(vis_model, face, class_name='Boredom')


@pytest.mark.parametrize('size', [256, 100])
def test_png_written_with_the_right_size(vis_model, face, tmp_path, size):
    from mpa_fer_plugin.visualization import draw_cgla_heatmap
    out = tmp_path / 'nested' / 'heat.png'
    drawn = draw_cgla_heatmap(vis_model, face, str(out), class_name='Fear',
                              display_size=size, legend=False)
    assert drawn.shape == (size, size, 3) and drawn.dtype == np.uint8
    png = cv2.imread(str(out))
    assert png.shape == (size, size, 3)
    np.testing.assert_array_equal(png[..., ::-1], drawn)
    # With the legend (default): title above, colour bar right, caption
    # below the size x size heatmap, which stays unchanged inside.
    framed = draw_cgla_heatmap(vis_model, face, str(out), class_name='Fear',
                               display_size=size)
    assert framed.shape[0] > size + 60 and framed.shape[1] > size
    assert framed.shape[1] >= 320  # room for the caption text


def test_legend_parts():
    from mpa_fer_plugin.visualization.legend import add_legend, colorbar
    image = np.zeros((50, 40, 3), np.uint8)
    bar = colorbar(50, -0.2, 0.3, 'cosine')
    assert bar.shape[0] == 50
    # High values on top: the top of the ramp is the colour map's red end.
    top, bottom = bar[8, 8], bar[-8, 8]
    assert top[0] > top[2] and bottom[2] > bottom[0]
    out = add_legend(image, ['Title', 'second'], ['a caption ' * 20],
                     bar=(-0.2, 0.3, 'cosine'))
    assert out.shape[1] == 320  # min_width
    assert out.shape[0] > 50 + 4 * 12  # 2 title lines + wrapped caption
    assert (out == 0).all(axis=2).sum() >= 50 * 40  # the image is inside


def test_open_vocabulary_heatmap(vis_model, face):
    from mpa_fer_plugin.visualization import cgla_patch_maps
    maps = cgla_patch_maps(vis_model, face, 'confusion',
                           classnames=['contempt', 'confusion'])
    assert maps['classes'] == ('contempt', 'confusion')
    assert maps['class_index'] == 1 and maps['similarity'].shape == (4, 4)


def test_bad_display_size(vis_model, face, tmp_path):
    from mpa_fer_plugin.visualization import draw_cgla_heatmap
    with pytest.raises(ValueError, match='display_size=8'):
        draw_cgla_heatmap(vis_model, face, str(tmp_path / 'x.png'),
                          display_size=8)
