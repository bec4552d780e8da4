"""apis/face/evaluate.py: scene bookkeeping, video flips, demo faces."""
import numpy as np
import pytest

from mpa_fer_plugin.apis.face import FaceDetections, write_video
from mpa_fer_plugin.apis.face import evaluate as ev
from mpa_fer_plugin.datasets.synthetic import generate_synthetic_fer

#: Pure colours of the constructed faces; the stub classifies by colour.
COLOURS = ((0, 0, 255), (0, 255, 0), (255, 0, 0))


class ColourPipeline:
    """Stub pipeline: finds pure-colour squares, classifies by colour.

    ``shrink`` makes its boxes a centred fraction of the true square, and
    ``extra`` adds a box in the scene's corner that matches no face.
    """

    classes = ('red', 'green', 'blue')

    def __init__(self, shrink: float = 1.0, extra: bool = False,
                 wrong: int = -1):
        self.shrink, self.extra, self.wrong = shrink, extra, wrong

    def _label(self, crop):
        pixels = crop.reshape(-1, 3).astype(np.int64)
        near = [(np.abs(pixels - c).sum(1) < 30).sum() for c in COLOURS]
        return int(np.argmax(near))

    def classify(self, crops):
        return [dict(pred_label=self._label(c)) for c in crops]

    def __call__(self, scene):
        out = []
        for label, colour in enumerate(COLOURS):
            ys, xs = np.nonzero(np.all(scene == colour, axis=2))
            if not len(xs):
                continue
            x1, y1, x2, y2 = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1
            cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
            hw, hh = (x2 - x1) * self.shrink / 2, (y2 - y1) * self.shrink / 2
            pred = (label + 1) % 3 if label == self.wrong else label
            out.append(dict(box=[cx - hw, cy - hh, cx + hw, cy + hh],
                            pred_label=pred))
        if self.extra:
            out.append(dict(box=[0, 0, 10, 10], pred_label=0))
        return out


def colour_faces():
    """Three 40 px faces; the last one's face is its left half only."""
    faces = []
    for label, colour in enumerate(COLOURS):
        img = np.zeros((40, 40, 3), np.uint8)
        img[:] = colour
        box = (0, 0, 1, 1)
        if label == 2:
            img[:, 20:] = 0
            box = (0, 0, 0.5, 1)
        faces.append(dict(image=img, label=label, face_box=box))
    return faces


def test_scene_matches_known_boxes():
    faces = colour_faces()
    r = ev.evaluate_scenes(ColourPipeline(), faces, 1, 3,
                           size=(200, 300), face_sizes=(40, 60))
    assert r['found'] == 3 and r['false_pos'] == 0
    assert r['median_best_iou'] == pytest.approx(1.0, abs=0.05)
    assert r['acc_found'] == 1.0 and r['acc_aligned'] == 1.0
    truth = np.array(r['scenes'][0]['truth'])
    side = truth[:, 2:] - truth[:, :2]
    assert np.all(side[:, 1] >= 40)
    # per-face face boxes: the half face is half as wide as it is high
    ratio = sorted(side[:, 0] / side[:, 1])
    assert ratio == pytest.approx([0.5, 1, 1])
    assert sorted(r['scenes'][0]['matches']) == [0, 1, 2]
    assert ev.scene_row('g', r).startswith('| g | 3 of 3 | 1.00 | 0 | '
                                           '100.0 % |')


def test_scene_iou_threshold_and_false_positives():
    faces = colour_faces()
    # boxes of half the side: IoU 0.25 -> missed, and counted as false
    # positives; the corner box is one more.
    r = ev.evaluate_scenes(ColourPipeline(shrink=0.5, extra=True), faces, 1,
                           3, size=(200, 300), face_sizes=(40, 60))
    assert r['found'] == 0 and r['false_pos'] == 4
    assert r['median_best_iou'] == pytest.approx(0.25, abs=0.03)
    assert r['acc_found'] is None
    # 0.8 of the side: IoU 0.64, found; one face misclassified in the
    # scene while its aligned crop is right.
    r = ev.evaluate_scenes(ColourPipeline(shrink=0.8, wrong=1), faces, 1, 3,
                           size=(200, 300), face_sizes=(40, 60))
    assert r['found'] == 3 and r['false_pos'] == 0
    assert r['acc_found'] == pytest.approx(2 / 3)
    assert r['acc_aligned_found'] == 1.0
    with pytest.raises(ValueError, match='need 6 faces'):
        ev.evaluate_scenes(ColourPipeline(), faces, 2, 3)


class BrightnessPipeline:
    """Stub pipeline for a video: one fixed box, label from brightness."""

    classes = ('dark', 'bright')

    def detect(self, frame):
        return FaceDetections(np.array([[8., 8., 56., 56.]]),
                              np.full((1, 5, 2), np.nan), np.ones(1))

    def align(self, frame, dets):
        return [frame[8:56, 8:56]], [{}]

    def classify(self, crops):
        out = []
        for c in crops:
            b = float(c.mean() > 128)
            out.append(dict(scores={'dark': 1 - b, 'bright': b}))
        return out


def test_video_counts_flips(tmp_path):
    # dark x6, one bright frame, dark x5, bright x6: 3 changes per frame;
    # EMA 0.3 ignores the single frame (p=0.3) and follows the last switch
    # on its second frame (p=0.3 + 0.7 * 0.335 > 0.5): 1 change.
    seq = [0] * 6 + [1] + [0] * 5 + [1] * 6
    frames = [np.full((64, 64, 3), 230 if b else 20, np.uint8) for b in seq]
    video = write_video(str(tmp_path / 'v.avi'), frames)
    boxes = [[[8, 8, 56, 56]]] * len(seq)
    labels = [['dark']] * 12 + [['bright']] * 6
    r = ev.score_video(BrightnessPipeline(), video, boxes, labels,
                       str(tmp_path / 'v.csv'), detect_every=3)
    assert r['frames'] == r['rows'] == len(seq) and r['tracks'] == 1
    assert r['flips_raw'] == 3 and r['flips_smoothed'] == 1
    assert r['acc_raw'] == pytest.approx(17 / 18)
    assert r['acc_smoothed'] == pytest.approx(17 / 18)
    # a box on the wrong place matches no true face: every row is wrong
    far = [[[100, 100, 140, 140]]] * len(seq)
    r2 = ev.score_video(BrightnessPipeline(), video, far, labels,
                        str(tmp_path / 'w.csv'))
    assert r2['acc_raw'] == 0 and r2['acc_smoothed'] == 0
    table = ev.paired_video_table({0: r, 1: dict(r, flips_raw=5)})
    # differences -2 and -4: mean -3, half-width t(1) * sd / sqrt(2)
    assert table['flips'] == pytest.approx((-3.0, -3 - 12.706, -3 + 12.706,
                                            2), abs=0.01)
    assert table['accuracy'][0] == pytest.approx(0.0)
    row = ev.video_row(3, {0: dict(r, true_flips=2),
                           1: dict(r, flips_raw=5, true_flips=2)})
    assert row.startswith('| 3 | 4.0 -> 1.0 (2) | -3.0 [-15.7, +9.7] (n=2)')
    assert '94.4 % -> 94.4 %' in row and '| 18-18 of 36, 1-1 |' in row


def test_demo_faces_and_video(tmp_path):
    root = str(tmp_path / 'world')
    generate_synthetic_fer(root, num_train=2, num_test=3, size=64, seed=0)
    faces = ev.load_demo_faces(root, 'test')
    assert [f['stem'] for f in faces] == ['test_0001', 'test_0002',
                                          'test_0003']
    for f in faces:
        x1, y1, x2, y2 = f['face_box']
        # v2 faces cover 30-60 % of the frame; the box stays inside it
        assert 0 <= x1 < x2 <= 1 and 0 <= y1 < y2 <= 1
        assert 0.25 < (x2 - x1) * (y2 - y1) < 0.9
        assert f['image'].shape == (64, 64, 3)
    assert len(ev.load_demo_faces(root, 'train', limit=1)) == 1
    with pytest.raises(FileNotFoundError):
        ev.load_demo_faces(str(tmp_path / 'none'))
    with pytest.raises(ValueError, match='empty'):
        ev.face_box_from_regions(np.zeros((8, 8), np.uint8))
    spec = ev.expression_video(str(tmp_path / 'g.avi'), seed=1, frames=6,
                               face=48, size=(120, 160))
    assert spec['true_flips'] == 4 and len(spec['boxes']) == 6
    assert spec['labels'][0] == ['Happiness', 'Neutral']
    assert spec['labels'][5] == ['Sadness', 'Happiness']
