"""apis/face/draw.py: readable drawings of small images."""
import numpy as np
import pytest

from mpa_fer_plugin.apis.face import draw_faces, upscale
from mpa_fer_plugin.apis.face.draw import face_layout


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


def _face(box, cls='Happiness'):
    scores = dict.fromkeys(CLASSES, 0.02)
    scores[cls] = 0.88
    return dict(box=box, pred_class=cls, pred_score=0.88, scores=scores)


CLASSES = ('Anger', 'Disgust', 'Fear', 'Sadness', 'Happiness', 'Surprise',
           'Neutral')


def _meets(a, b):
    return min(a[2], b[2]) > max(a[0], b[0]) and \
        min(a[3], b[3]) > max(a[1], b[1])


@pytest.mark.parametrize('boxes,shape', [
    # Five faces in a row with small gaps (a group photo).
    ([[20 + 90 * i, 150, 100 + 90 * i, 240] for i in range(5)],
     (400, 480)),
    # A tight 3 x 3 grid, and one face touching the image's right edge.
    ([[40 + 70 * c, 40 + 80 * r, 100 + 70 * c, 110 + 80 * r]
      for r in range(3) for c in range(3)] + [[400, 300, 480, 390]],
     (400, 480)),
    # Two faces filling a small image (upscaled x 7.5 for drawing).
    ([[2, 4, 30, 36], [33, 6, 62, 40]], (64, 64)),
])
def test_panels_never_cover_a_face_or_label(boxes, shape):
    faces = [_face(b) for b in boxes]
    layout = face_layout(shape, faces, len(CLASSES))
    others = layout['boxes'] + layout['labels']
    placed = [p for p in layout['panels'] if p is not None]
    assert placed, 'no panel was placed'
    h, w = (round(v * layout['scale']) for v in shape)
    for n, panel in enumerate(layout['panels']):
        if panel is None:
            continue
        assert 0 <= panel[0] < panel[2] <= w and 0 <= panel[1] < panel[3] <= h
        for rect in others:
            assert not _meets(panel, rect), (n, panel, rect)
        for m, other in enumerate(layout['panels']):
            if m != n and other is not None:
                assert not _meets(panel, other), (n, m)
    # The drawing has the upscaled size (video frames keep theirs).
    out = draw_faces(np.full(shape + (3,), 255, np.uint8), faces, CLASSES)
    assert out.shape[:2] == (h, w)


def test_the_photos_and_videos_picture_layout():
    """The faces of docs/images/photos_and_videos_demo.png (the first demo
    scene, 400 x 640, drawn at 480 x 768), where a panel covered a face."""
    boxes = [[101, 215, 140, 265], [169, 76, 221, 138], [273, 221, 329, 283],
             [343, 71, 414, 159], [438, 10, 589, 139]]
    layout = face_layout((400, 640), [_face(b) for b in boxes],
                         len(CLASSES))
    assert all(p is not None for p in layout['panels'])
    for panel in layout['panels']:
        for rect in layout['boxes'] + layout['labels']:
            assert not _meets(panel, rect)


def test_no_room_means_no_panel():
    faces = [_face([0, 0, 64, 64])]
    layout = face_layout((64, 64), faces, len(CLASSES), min_side=64)
    assert layout['panels'] == [None]
    out = draw_faces(np.zeros((64, 64, 3), np.uint8), faces, CLASSES,
                     min_side=64)
    assert out.shape == (64, 64, 3)
