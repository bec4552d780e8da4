"""Demo faces drawn into scenes at known boxes, and the tuned detector."""
import hashlib
import os.path as osp

import cv2
import numpy as np
import pytest
from face_data import ASTRONAUT_FACE, astronaut

from mpa_fer_plugin.apis.face import (
    GEOMETRIES,
    HaarFaceDetector,
    box_iou,
    build_face_detector,
    clutter,
    demo_faces,
)
from mpa_fer_plugin.apis.face import evaluate as ev
from mpa_fer_plugin.apis.face.detectors import nms
from mpa_fer_plugin.datasets.synthetic import (
    LABEL_FILE,
    generate_synthetic_fer,
)
from mpa_fer_plugin.datasets.synthetic_faces import (
    MOVED_REGIONS,
    render_face_and_regions,
)

#: SHA-256 of the default output (images, masks, random state after each
#: call) for the 8 expressions x (no shift, 'pose'), taken before the box
#: option existed (OpenCV 4.14, numpy PCG64).
DEFAULT_RENDER_SHA = ('fc6496bd890c3164cd01a281f60d96f4'
                      '8667caafb7ab96426a5213c283ca0107')


def test_default_render_is_unchanged():
    h = hashlib.sha256()
    for i, expression in enumerate(MOVED_REGIONS):
        for shift in ((), ('pose', )):
            rng = np.random.default_rng([0, 1, 0, i])
            img, mask = render_face_and_regions(expression, rng, 64, shift)
            h.update(img.tobytes())
            h.update(mask.tobytes())
            h.update(rng.bit_generator.state['state']['state'].to_bytes(
                16, 'little'))
    assert h.hexdigest() == DEFAULT_RENDER_SHA


def test_render_into_a_box():
    canvas = clutter(200, 300, np.random.default_rng(0))
    before = canvas.copy()
    box = [100, 50, 164, 130]  # 64 x 80: the demo faces' 0.8 aspect
    out, mask = render_face_and_regions(
        'Happiness', np.random.default_rng([0, 1, 0, 3]), 120,
        canvas=canvas, box=box)
    assert np.array_equal(canvas, before)  # drawn into a copy
    assert out.shape == canvas.shape and mask.shape == (200, 300)
    changed = np.any(out != canvas, axis=2)
    ys, xs = np.nonzero(changed)
    # the face fills its box; hair, rotation and an occluder may spill a
    # little, the far canvas is untouched
    assert changed[60:120, 110:154].mean() > 0.95
    assert xs.min() > 40 and xs.max() < 230 and ys.max() < 185
    assert not changed[:, :40].any() and not changed[:, 240:].any()
    # regions (brows, eyes, nose, mouth, cheeks) lie inside the box
    ry, rx = np.nonzero(mask)
    assert rx.min() >= 95 and rx.max() <= 170 and ry.min() >= 45
    for bit in range(5):
        assert np.any(mask & (1 << bit))
    with pytest.raises(ValueError, match='together'):
        render_face_and_regions('Anger', np.random.default_rng(0), 64,
                                canvas=canvas)
    with pytest.raises(ValueError, match='x2 > x1'):
        render_face_and_regions('Anger', np.random.default_rng(0), 64,
                                canvas=canvas, box=[5, 5, 5, 9])


def test_world_specs_and_frames_match_the_generator(tmp_path):
    root = str(tmp_path / 'w')
    generate_synthetic_fer(root, num_train=3, num_test=4, size=64, seed=0)
    world = dict(num_train=3, num_test=4)
    with open(osp.join(root, LABEL_FILE)) as f:
        codes = dict(line.split() for line in f)
    for split in ('train', 'test'):
        specs = ev.world_face_specs(split, world=world)
        assert len(specs) == (3 if split == 'train' else 4)
        stored = ev.load_demo_faces(root, split)
        for spec, face in zip(specs, stored):
            assert spec['stem'] == face['stem'] and spec['label'] == \
                face['label'] and f"{spec['stem']}.jpg" in codes
            # the same face, byte for byte, without reading the disk
            assert np.array_equal(ev.world_frame(spec), face['image'])
    assert len(ev.world_face_specs('test', limit=2)) == 2


def test_face_scene_places_faces_at_their_boxes():
    specs = ev.world_face_specs('train', limit=3)
    scene, truth = ev.face_scene(specs, np.random.default_rng(1),
                                 size=(240, 360), face_heights=(50, 70))
    empty = clutter(240, 360, np.random.default_rng(1))
    assert scene.shape == (240, 360, 3) and truth.shape == (3, 4)
    wh = truth[:, 2:] - truth[:, :2]
    assert np.allclose(wh[:, 0] / wh[:, 1], 0.8)
    assert np.all((wh[:, 1] >= 50) & (wh[:, 1] <= 70))
    iou = box_iou(truth, truth)
    assert np.allclose(iou, np.eye(3))  # no overlaps
    for x1, y1, x2, y2 in truth.astype(int):  # each box holds a face
        inner = np.any(scene[y1 + 8:y2 - 8, x1 + 8:x2 - 8] !=
                       empty[y1 + 8:y2 - 8, x1 + 8:x2 - 8], axis=2)
        assert inner.mean() > 0.95
    with pytest.raises(ValueError, match='cannot place'):
        ev.face_scene(ev.world_face_specs('train', limit=9),
                      np.random.default_rng(0), size=(120, 160),
                      face_heights=(50, 60))


class TruthPipeline:
    """Stub: 'detects' the true boxes of the first faces plus one false
    box, and calls every face ``label``."""

    geometry = GEOMETRIES['demo_64']

    def __init__(self, label, keep):
        self.label, self.keep, self.truth = label, keep, None

    def classify(self, crops):
        assert all(c.shape == (64, 64, 3) for c in crops)
        return [dict(pred_label=self.label) for _ in crops]

    def __call__(self, scene):
        boxes = [list(b) for b in self.truth[:self.keep]]
        return [dict(box=b, pred_label=self.label)
                for b in boxes + [[0, 0, 12, 12]]]


def test_evaluate_face_scenes_counts_and_pairs(monkeypatch):
    specs = ev.world_face_specs('test', limit=40)
    stub = TruthPipeline(label=specs[0]['label'], keep=2)
    real = ev.face_scene

    def spy(*args, **kwargs):
        scene, truth = real(*args, **kwargs)
        stub.truth = truth
        return scene, truth
    # drawn_scenes (demo_faces) draws every scene through face_scene
    monkeypatch.setattr(demo_faces, 'face_scene', spy)
    runs = {s: ev.evaluate_face_scenes(stub, specs, 2, 3, seed=s,
                                       size=(240, 400),
                                       face_heights=(50, 70))
            for s in (0, 1)}
    for r in runs.values():
        assert r['faces'] == 6 and r['found'] == 4 and r['false_pos'] == 2
        faces = r['per_face']
        found = [f for f in faces if f['found']]
        assert all(f['iou'] == 1.0 and f['det'] == stub.label
                   for f in found)
        right = sum(f['label'] == stub.label for f in found)
        assert r['acc_found'] == right / 4 == r['acc_frame_found']
        assert r['acc_truebox'] == r['acc_frame'] == sum(
            f['label'] == stub.label for f in faces) / 6
    paired = ev.paired_scene_table(runs)
    assert paired['det_vs_frame'][:3] == (0.0, 0.0, 0.0)
    assert paired['recall'][0] == pytest.approx(4 / 6)
    row = ev.face_scene_row('g', runs)
    assert row.startswith('| g | 8 of 12 (66.7 %) | 4 |')
    assert ev.FACE_SCENE_HEADER.split('\n')[1].count('---') == row.count(
        ' | ') + 1


def test_tuned_haar_defaults_and_classic_preset():
    tuned, classic = build_face_detector('haar'), build_face_detector(
        'haar_classic')
    assert (tuned.blur, tuned.equalize, tuned.min_neighbors) == (2.0, False,
                                                                 3)
    assert (classic.blur, classic.equalize, classic.min_neighbors) == (
        0.0, True, 5)
    # the photograph: one face with either
    for det in (tuned, classic):
        dets = det.detect(astronaut())
        assert len(dets) == 1
        assert box_iou(dets.boxes, ASTRONAUT_FACE[None])[0, 0] >= 0.6
    # drawn demo faces: the tuned settings find more (6 scenes x 5 faces)
    specs = ev.world_face_specs('train', limit=30)
    found = {'tuned': 0, 'classic': 0}
    for s in range(6):
        scene, truth = ev.face_scene(specs[5 * s:5 * s + 5],
                                     np.random.default_rng([3, s]))
        for name, det in (('tuned', tuned), ('classic', classic)):
            boxes = det.detect(scene).boxes
            if len(boxes):
                found[name] += int((box_iou(truth, boxes).max(1) >=
                                    0.5).sum())
    assert found['tuned'] >= found['classic'] + 3, found


def test_rotated_passes_and_cascades_merge():
    img = astronaut()
    h, w = img.shape[:2]
    mat = cv2.getRotationMatrix2D((w / 2, h / 2), 30, 1.0)
    rotated = cv2.warpAffine(img, mat, (w, h),
                             borderMode=cv2.BORDER_REPLICATE)
    plain = HaarFaceDetector(find_eyes=False)
    turned = HaarFaceDetector(find_eyes=False, angles=(-30, ))
    assert len(plain.detect(rotated)) == 0
    upright = plain.detect(img).boxes[0]
    centre = np.append((upright[:2] + upright[2:]) / 2, 1) @ mat.T
    dets = turned.detect(rotated)  # the face, found on the turned-back pass
    assert len(dets) == 1
    got = (dets.boxes[0, :2] + dets.boxes[0, 2:]) / 2
    assert np.abs(got - centre).max() < 6  # mapped back to where it is
    two = HaarFaceDetector(cascades=('haarcascade_frontalface_default.xml',
                                     'haarcascade_frontalface_alt2.xml'))
    assert len(two.detect(img)) == 1  # the two hits merged into one
    with pytest.raises(ValueError, match='at least one cascade'):
        HaarFaceDetector(cascades=())


def test_nms():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 0, 30, 10],
                      [22, 2, 26, 6]], np.float32)
    keep = nms(boxes, np.array([0.5, 0.9, 0.1, 0.8]), 0.3)
    # 1 suppresses 0 (IoU 0.68); 3 comes before 2, and 2 stays: their
    # IoU is 0.16 and 2 is not mostly inside 3 (it is the other way)
    assert keep.tolist() == [1, 3, 2]
    assert nms(boxes[:0], np.zeros(0)).tolist() == []


def test_redetect_near_moves_held_boxes():
    from mpa_fer_plugin.apis.face import FaceDetections
    from mpa_fer_plugin.apis.face.video import redetect_near
    det = HaarFaceDetector()
    img = astronaut()
    face = det.detect(img)
    held = FaceDetections(
        np.array([face.boxes[0] + [14, 10, 14, 10], [400, 400, 460, 460]],
                 np.float32), np.full((2, 5, 2), np.nan, np.float32),
        np.array([1.0, 1.0], np.float32))
    moved = redetect_near(det, img, held)
    assert np.abs(moved.boxes[0] - face.boxes[0]).max() < 3  # found again
    assert np.isfinite(moved.landmarks[0, :2]).all()  # eyes, image pixels
    assert np.abs(moved.landmarks[0, :2] - face.landmarks[0, :2]).max() < 3
    assert moved.boxes[1].tolist() == [400, 400, 460, 460]  # kept


def test_drawn_video_and_box_updates(infer_model, tmp_path):
    from mpa_fer_plugin.apis.face import FERPipeline
    spec = ev.expression_video(str(tmp_path / 'd.avi'), 0, frames=12,
                               drawn=True, drift=60)
    assert spec['true_flips'] == 4 and len(spec['boxes']) == 12
    wh = np.diff(np.array(spec['boxes']).reshape(-1, 2, 2), axis=1)[:, 0]
    assert np.allclose(wh, [64, 80])  # 0.8 x 100 px faces, 0.8 aspect
    pipe = FERPipeline(model=infer_model, topk=1)
    out = {}
    for refine in (False, True):
        out[refine] = ev.score_video(
            pipe, spec['video'], spec['boxes'], spec['labels'],
            str(tmp_path / f'r{int(refine)}.csv'), detect_every=6,
            refine=refine)
    # the faces drift; updated boxes follow them, held ones do not
    assert out[True]['mean_iou'] > out[False]['mean_iou']
    assert out[True]['rows'] >= out[False]['rows'] > 0
