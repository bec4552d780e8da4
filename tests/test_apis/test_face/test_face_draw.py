"""apis/face/draw.py: readable drawings of small images."""
import numpy as np

from mpa_fer_plugin.apis.face import draw_faces, upscale


def test_upscale():
    img = np.zeros((64, 80, 3), np.uint8)
    big, k = upscale(img, 480)
    assert k == 7.5 and big.shape == (480, 600, 3)
    same, k = upscale(np.zeros((600, 700, 3), np.uint8), 480)
    assert k == 1.0 and same.shape == (600, 700, 3)


def test_draw_faces_on_a_small_image():
    img = np.full((64, 64, 3), 255, np.uint8)
    face = dict(box=[8, 8, 40, 40], pred_class='Happiness', pred_score=0.9,
                scores={'Happiness': 0.9, 'Sadness': 0.1})
    out = draw_faces(img, [face])
    assert out.shape == (480, 480, 3)
    k = 480 / 64
    # Box outline drawn at the scaled position, image untouched far away.
    assert out[int(8 * k), int(24 * k)].tolist() != [255, 255, 255]
    assert out[470, 10].tolist() == [255, 255, 255]
    plain = draw_faces(img, [face], bars=False)
    assert (plain != out).any()  # the bar panel
    assert draw_faces(img, []).shape == (480, 480, 3)
