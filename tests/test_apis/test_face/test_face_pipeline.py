"""apis/face/pipeline.py: several faces per image, crops, heatmaps."""
import importlib.util

import numpy as np
import pytest
from face_data import astronaut, astronaut_face_patch

from mpa_fer_plugin.apis.face import (
    CropGeometry,
    FERPipeline,
    make_scene,
    match_boxes,
)


@pytest.fixture(scope='module')
def pipe(infer_model):
    # These tests are about the Haar detector's eyes and recall.
    return FERPipeline(model=infer_model, detector='haar', topk=2)


def test_default_detector_is_auto(infer_model):
    installed = importlib.util.find_spec('yuface') is not None
    pipe = FERPipeline(model=infer_model)
    expected = 'YuFaceDetector' if installed else 'HaarFaceDetector'
    assert pipe.describe()['detector'] == expected


def test_several_faces_in_clutter(pipe, tmp_path):
    patch, face_box = astronaut_face_patch()
    rng = np.random.default_rng(1)
    scene, truth = make_scene([patch] * 3, rng, size=(360, 560),
                              face_sizes=(130, 170), face_box=face_box)
    results, crops = pipe(scene, return_crops=True)
    pred = np.array([r['box'] for r in results])
    assert None not in match_boxes(pred, truth, 0.5)  # IoU >= 0.5 each
    assert len(results) == 3 and len(crops) == 3
    assert [r['box'][0] for r in results] == sorted(pred[:, 0])
    size = pipe.geometry.size
    for result, crop in zip(results, crops):
        assert crop.shape == (size, size, 3)
        assert result['crop']['size'] == size
        assert result['crop']['method'] in ('eyes', 'box')
        assert sum(result['scores'].values()) == pytest.approx(1, abs=1e-5)
        assert len(result['topk']) == 2
        assert result['topk'][0] == {'class': result['pred_class'],
                                     'score': result['pred_score']}
        assert set(result['scores']) == set(pipe.classes)
    # The inferencer on the returned crops gives the same probabilities.
    again = pipe.inferencer(crops, batch_size=3)
    for result, other in zip(results, again):
        np.testing.assert_allclose(
            [result['scores'][c] for c in pipe.classes],
            other['pred_scores'], atol=1e-6)
    png = tmp_path / 'face_cgla.png'
    drawn = pipe.heatmap(crops[0], str(png), display_size=96)
    assert png.is_file()
    # The drawing of the docs' pictures: title, colour bar and caption
    # around the 96 px heatmap; legend=False leaves the bare heatmap.
    from mpa_fer_plugin.visualization import draw_cgla_heatmap
    same = draw_cgla_heatmap(pipe.model, crops[0], str(tmp_path / 'b.png'),
                             display_size=96)
    np.testing.assert_array_equal(drawn, same)
    assert drawn.shape[0] > 96 and drawn.shape[1] > 96
    bare = pipe.heatmap(crops[0], str(png), display_size=96, legend=False)
    assert bare.shape[:2] == (96, 96)


def test_astronaut_aligned_by_the_eyes(pipe):
    results = pipe(astronaut())
    assert len(results) == 1
    face = results[0]
    assert face['crop']['method'] == 'eyes'
    assert set(face['landmarks']) == {'left_eye', 'right_eye'}


def test_generated_faces_in_clutter(pipe):
    # Cartoon faces of the synthetic generator: the Haar cascade was made
    # for photos and misses some of them (measured 85 % at IoU >= 0.5 over
    # 20 faces of the demo test split); here at least half must match.
    from mpa_fer_plugin.datasets import render_face
    faces = [render_face(e, np.random.default_rng([5, i]), 100)
             for i, e in enumerate(('Happiness', 'Neutral', 'Surprise',
                                    'Sadness', 'Anger', 'Fear'))]
    matched = 0
    for s in range(2):
        scene, truth = make_scene(faces[3 * s:3 * s + 3],
                                  np.random.default_rng(s), size=(360, 560),
                                  face_sizes=(90, 130),
                                  face_box=(0.15, 0.06, 0.85, 0.94))
        pred = np.array([r['box'] for r in pipe(scene)]).reshape(-1, 4)
        matched += sum(m is not None for m in match_boxes(pred, truth))
    assert matched >= 3


def test_no_face_and_filters(pipe, infer_model):
    assert pipe(np.full((120, 160, 3), 90, np.uint8)) == []
    scene = astronaut()
    assert FERPipeline(model=infer_model, min_face=200)(scene) == []
    whole = FERPipeline(model=infer_model, detector='none',
                        geometry=CropGeometry(40, name='w'))
    result = whole(scene)
    assert len(result) == 1 and result[0]['box'] == [0, 0, 512, 512]
    assert result[0]['crop']['size'] == 40 and result[0]['landmarks'] is None
    with pytest.raises(ValueError, match='max_faces'):
        FERPipeline(model=infer_model, max_faces=0)
    with pytest.raises(ValueError, match='needs a config or a model'):
        FERPipeline()
