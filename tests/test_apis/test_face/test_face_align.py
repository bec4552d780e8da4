"""apis/face/align.py: similarity transforms, box crops, geometries."""
import json
import os.path as osp

import cv2
import numpy as np
import pytest

from mpa_fer_plugin.apis.face import (
    GEOMETRIES,
    CropGeometry,
    align_face,
    build_geometry,
    calibrate_geometry,
    face_transform,
    geometry_for_config,
    save_geometry,
)


def _apply(mat, pts):
    return pts @ mat[:, :2].T + mat[:, 2]


def _similar(pts, angle, scale, shift):
    a = np.deg2rad(angle)
    rot = scale * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return pts @ rot.T + shift


def test_five_landmarks_map_onto_the_template():
    geo = GEOMETRIES['rafdb_aligned']
    pts = _similar(geo.points(), 25, 2.5, [40, 70])
    mat, method = face_transform([0, 0, 1, 1], pts, geo)
    assert method == 'landmarks5'
    np.testing.assert_allclose(_apply(mat, pts), geo.points(), atol=1e-3)


def test_eyes_are_levelled():
    geo = CropGeometry(size=64, name='t')
    img = np.zeros((200, 200, 3), np.uint8)
    eyes = _similar(geo.points()[:2], -30, 1.8, [50, 60])
    for (x, y), color in zip(eyes, ((0, 0, 255), (0, 255, 0))):
        cv2.circle(img, (int(round(x)), int(round(y))), 3, color, -1)
    pts = np.full((5, 2), np.nan)
    pts[:2] = eyes
    crop, record = align_face(img, [0, 0, 200, 200], pts, geo)
    assert record['method'] == 'eyes' and crop.shape == (64, 64, 3)
    (lx, ly), (rx, ry) = np.round(geo.points()[:2]).astype(int)
    assert crop[ly, lx, 2] > 150 and crop[ry, rx, 1] > 150
    assert abs(ly - ry) <= 1  # level


def test_box_crop_without_landmarks():
    geo = CropGeometry(size=50, box_scale=2.0, box_shift=0.1, name='b')
    mat, method = face_transform([100, 100, 140, 140], None, geo)
    assert method == 'box'
    # The box centre, shifted by 0.1 box heights, is the crop centre; the
    # crop is 2 box sides wide.
    np.testing.assert_allclose(_apply(mat, np.array([[120, 124.]])),
                               [[25, 25]])
    assert mat[0, 0] == pytest.approx(50 / 80)
    img = np.random.default_rng(0).integers(0, 255, (300, 300, 3),
                                            dtype=np.uint8)
    crop, record = align_face(img, [100, 100, 140, 140],
                              np.full((5, 2), np.nan), geo)
    assert record == dict(method='box', matrix=np.round(mat, 6).tolist(),
                          size=50, geometry='b')


def test_build_geometry(tmp_path):
    assert build_geometry(None) is GEOMETRIES['rafdb_aligned']
    assert build_geometry('realigned_224').size == 224
    assert build_geometry('rafdb_aligned', size=64).size == 64
    path = save_geometry(CropGeometry(80, box_scale=1.2, name='x'),
                         str(tmp_path / 'g.json'))
    back = build_geometry(path)
    assert back == CropGeometry(80, box_scale=1.2, name='x')
    assert json.loads(open(path).read())['size'] == 80
    with pytest.raises(KeyError, match='unknown crop geometry'):
        build_geometry('nope')
    with pytest.raises(FileNotFoundError):
        build_geometry(str(tmp_path / 'missing.json'))
    with pytest.raises(ValueError, match='unknown crop geometry keys'):
        build_geometry(dict(size=10, margin=3))
    with pytest.raises(ValueError, match='5 \\(x, y\\) pairs'):
        CropGeometry(template=((0, 0), ))


def test_geometry_for_config():
    def cfg(**ds):
        return dict(test_dataloader=dict(dataset=ds))

    assert geometry_for_config(cfg(type='RAFDB', image_source='aligned')
                               ).name == 'rafdb_aligned'
    assert geometry_for_config(cfg(type='RAFDB', image_source='original')
                               ).size == 224
    assert geometry_for_config(cfg(type='AffectNet7')).size == 224
    assert geometry_for_config(cfg(type='mmpretrain.FERPlus')).size == 48
    assert geometry_for_config(dict(face_geometry=dict(size=77))).size == 77
    assert geometry_for_config(None).name == 'rafdb_aligned'


def test_calibrate_geometry():
    class Fixed:  # a face box at a known place of every padded crop
        def detect(self, image):
            s = image.shape[0] / 3  # pad=1: the crop is the middle third
            pts = np.full((1, 5, 2), np.nan, np.float32)
            pts[0, :2] = [[s + 0.3 * s, s + 0.4 * s],
                          [s + 0.7 * s, s + 0.4 * s]]
            return (np.array([[s + 0.2 * s, s + 0.3 * s, s + 0.8 * s,
                               s + 0.9 * s]], np.float32), pts, None)

    crops = [np.zeros((60, 60, 3), np.uint8)] * 3
    geo = calibrate_geometry(Fixed(), crops)
    assert geo.size == 60 and geo.name == 'calibrated'
    assert geo.box_scale == pytest.approx(1 / 0.6, rel=1e-4)
    assert geo.box_shift == pytest.approx(-0.1 / 0.6, rel=1e-3)
    np.testing.assert_allclose(geo.template[:2], [[0.3, 0.4], [0.7, 0.4]],
                               atol=1e-4)

    class Blind:
        def detect(self, image):
            return np.zeros((0, 4)), None, None

    with pytest.raises(ValueError, match='found no face in any of the 3'):
        calibrate_geometry(Blind(), crops)


def test_demo_presets_by_detector():
    from mmengine.config import Config

    from mpa_fer_plugin.apis.face.align import BY_DETECTOR
    old = GEOMETRIES['demo_64']  # unchanged: earlier results reproduce
    assert old.template[0] == pytest.approx((0.5 - 0.8 * 0.37 / 2 / 1.15,
                                             0.5 - 0.18 / 2 / 1.15))
    assert (old.box_scale, old.box_shift) == (1.15, 0.0)
    yu = GEOMETRIES['demo_64_yuface']
    assert yu.size == 64 and yu.template != old.template
    for det, name in (('YuFaceDetector', 'demo_64_yuface'),
                      ('HaarFaceDetector', 'demo_64'), (None, 'demo_64')):
        assert build_geometry('demo_64_auto', detector=det).name == name
        cfg = dict(face_geometry='demo_64_auto')
        assert geometry_for_config(cfg, det).name == name
    assert set(BY_DETECTOR['demo_64_auto']) == {'YuFaceDetector', '*'}
    # yuface's median points on a face box of height 100 land on the
    # template, so the crop is `side` face heights high
    box = np.array([100.0, 50.0, 180.0, 150.0])
    from mpa_fer_plugin.apis.face.align import _YUFACE_POINTS, _YUFACE_SIDE
    pts = np.array([140.0, 100.0]) + np.array(_YUFACE_POINTS) * [40, 50]
    mat, method = face_transform(box, pts, yu)
    assert method == 'landmarks5'
    corners = _apply(mat, np.array([[100.0, 50.0], [180.0, 150.0]]))
    np.testing.assert_allclose(corners[1] - corners[0],
                               np.array([0.8, 1.0]) * 64 / _YUFACE_SIDE,
                               atol=1e-6)
    np.testing.assert_allclose(corners.mean(axis=0), [32, 32], atol=1e-6)
    root = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
        osp.abspath(__file__)))))
    demo_cfg = Config.fromfile(osp.join(root, 'configs', 'mpa_fer_demo.py'))
    assert demo_cfg.face_geometry == 'demo_64_auto'
