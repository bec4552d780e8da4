"""tools/infer.py: faces per photo, --no-detect, JSON, heatmaps, errors."""
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest

sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.abspath(
    __file__))), 'test_apis'))
from mpa_world import ROOT, get_world, load_tool  # noqa: E402

infer = load_tool('infer.py')
#: What the default detector ('auto') builds here.
AUTO = ('YuFaceDetector' if importlib.util.find_spec('yuface') else
        'HaarFaceDetector')


@pytest.fixture(scope='module')
def world(tmp_path_factory, tiny_clip_spec):
    return get_world(tmp_path_factory, tiny_clip_spec)


@pytest.fixture(scope='module')
def faces(tmp_path_factory):
    """A folder of three generated faces (JPEG and PNG) and a text file."""
    from mpa_fer_plugin.datasets import render_face
    folder = tmp_path_factory.mktemp('faces')
    rng = np.random.default_rng(7)
    for name, expr in (('a_happy.jpg', 'Happiness'), ('b_sad.png', 'Sadness'),
                       ('c_fear.jpg', 'Fear')):
        cv2.imwrite(str(folder / name), render_face(expr, rng, size=48))
    (folder / 'notes.txt').write_text('not an image')
    return folder


def test_folder(world, faces, tmp_path, capsys):
    out = tmp_path / 'results.json'
    heat, show = tmp_path / 'heat', tmp_path / 'show'
    results = infer.main([
        str(faces), world['config'], world['ckpt'], '--topk', '2',
        '--out', str(out), '--heatmap-dir', str(heat), '--show-dir',
        str(show), '--batch-size', '2', '--no-detect'
    ])
    names = ['a_happy', 'b_sad', 'c_fear']
    assert [osp.basename(r['image']).split('.')[0] for r in results] == names
    printed = capsys.readouterr().out
    saved = json.loads(out.read_text())
    assert saved == results
    for result in saved:
        assert len(result['topk']) == 2
        assert result['topk'][0] == {'class': result['pred_class'],
                                     'score': result['pred_score']}
        assert sum(result['scores'].values()) == pytest.approx(1, abs=1e-5)
        pairs = ', '.join(f"{t['class']} {t['score']:.3f}"
                          for t in result['topk'])
        assert f"{result['image']}: {pairs}" in printed
        # 256 px heatmap with title, colour bar and caption around it.
        height, width = cv2.imread(result['heatmap']).shape[:2]
        assert height > 256 + 40 and width > 256 + 20
    assert sorted(p.stem for p in show.iterdir()) == names
    # Drawn results of 48 px faces are upscaled to stay readable.
    assert min(cv2.imread(str(show / 'a_happy.png')).shape[:2]) == 480
    assert all(len(r['faces']) == 1 for r in saved)


def test_open_vocabulary_and_class_heatmap(world, faces, tmp_path):
    results = infer.main([
        str(faces / 'a_happy.jpg'), world['config'], world['ckpt'],
        '--classes', 'contempt, confusion', '--heatmap-dir',
        str(tmp_path), '--class', 'Confusion', '--heatmap-size', '96',
        '--no-detect'
    ])
    assert set(results[0]['scores']) == {'contempt', 'confusion'}
    assert len(results[0]['topk']) == 2  # min(topk=3, classes)
    height, width = cv2.imread(results[0]['heatmap']).shape[:2]
    assert height > 96 and width >= 320  # legend: at least 320 px wide


def test_bad_inputs(world, faces, tmp_path):
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(ValueError, match=f'no images in the folder {empty}'):
        infer.main([str(empty), world['config'], world['ckpt']])
    broken = tmp_path / 'broken.jpg'
    broken.write_bytes(b'\xff\xd8 truncated jpeg')
    with pytest.raises(ValueError, match='cannot read image file .*broken'):
        infer.main([str(broken), world['config'], world['ckpt']])
    face = str(faces / 'a_happy.jpg')
    with pytest.raises(ValueError, match=r'prompts3.pth.*backbone.prompts'):
        infer.main([face, world['config'], world['ckpt_prompts']])
    with pytest.raises(ValueError, match="--class 'Boredom' is not one of"):
        infer.main([face, world['config'], world['ckpt'], '--class',
                    'Boredom', '--heatmap-dir', str(tmp_path)])
    with pytest.raises(ValueError, match='names no class'):
        infer.main([face, world['config'], world['ckpt'], '--classes', ','])


def test_command_line(world, faces):
    proc = subprocess.run(
        [sys.executable, 'tools/infer.py', str(faces / 'b_sad.png'),
         world['config'], world['ckpt'], '--topk', '1', '--no-detect',
         '--threads', '1', '--trust-checkpoint'],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env=dict(os.environ, HF_HUB_OFFLINE='1'))
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [ln for ln in proc.stdout.splitlines() if 'b_sad.png: ' in ln]
    assert len(line) == 1 and len(line[0].split(': ')[1].split(', ')) == 1


@pytest.fixture(scope='module')
def photos(tmp_path_factory):
    """A portrait (scikit-image's astronaut, 256 px) and an empty image."""
    from skimage import data
    folder = tmp_path_factory.mktemp('photos')
    portrait = cv2.resize(np.ascontiguousarray(data.astronaut()[..., ::-1]),
                          (256, 256), interpolation=cv2.INTER_AREA)
    cv2.imwrite(str(folder / 'astronaut.jpg'), portrait)
    cv2.imwrite(str(folder / 'wall.png'), np.full((90, 120, 3), 128,
                                                  np.uint8))
    return folder


def test_faces_in_photos(world, photos, tmp_path, capsys):
    from mpa_fer_plugin.apis.face import box_iou
    out = tmp_path / 'faces.json'
    show, heat = tmp_path / 'show', tmp_path / 'heat'
    results = infer.main([
        str(photos), world['config'], world['ckpt'], '--out', str(out),
        '--show-dir', str(show), '--heatmap-dir', str(heat), '--topk', '2',
        '--save-geometry', str(tmp_path / 'geometry.json')
    ])
    assert json.loads(out.read_text()) == results
    portrait, wall = results
    assert wall['faces'] == []  # no face: an empty list, not an error
    assert len(portrait['faces']) == 1
    face = portrait['faces'][0]
    # Hand-annotated face of the 512 px photo, halved.
    truth = np.array([[90, 37.5, 136, 95]])
    assert box_iou(np.array([face['box']]), truth)[0, 0] >= 0.5
    assert face['crop']['geometry'] == 'rafdb_aligned'
    assert portrait['detector'] == wall['detector'] == AUTO
    assert len(face['topk']) == 2
    assert face['crop']['method'] in ('landmarks5', 'eyes', 'box')
    assert sum(face['scores'].values()) == pytest.approx(1, abs=1e-5)
    printed = capsys.readouterr().out
    assert f"{wall['image']}: no face" in printed
    assert f"{portrait['image']}: 1 face(s)" in printed
    assert cv2.imread(face['heatmap']) is not None
    # the shorter side upscaled to 480 (90 x 120 -> 480 x 640), plus a strip
    wall_drawn = cv2.imread(str(show / 'wall.png'))
    assert wall_drawn.shape[1] == 640 and 480 < wall_drawn.shape[0] < 560
    drawn = cv2.imread(str(show / 'astronaut.png'))
    # 480 x 480 plus the strip under it that names the model (its card)
    assert drawn.shape[1] == 480 and 480 < drawn.shape[0] < 560
    assert portrait['model_card']['domain'] == 'synthetic-drawn-faces'
    assert portrait['model'].startswith('DEMO')
    geometry = json.loads((tmp_path / 'geometry.json').read_text())
    assert geometry['name'] == 'rafdb_aligned'


def test_calibrated_geometry(world, photos, tmp_path, capsys):
    geometry = tmp_path / 'calibrated.json'
    results = infer.main([
        str(photos / 'astronaut.jpg'), world['config'], world['ckpt'],
        '--calibrate-on', str(photos), '--save-geometry', str(geometry)
    ])
    assert 'crop geometry measured on 2 crops' in capsys.readouterr().out
    saved = json.loads(geometry.read_text())
    assert saved['name'] == 'calibrated' and saved['size'] == 256
    assert results[0]['faces'][0]['crop']['geometry'] == 'calibrated'
    again = infer.main([str(photos / 'astronaut.jpg'), world['config'],
                        world['ckpt'], '--geometry', str(geometry)])
    assert again[0]['faces'][0]['scores'] == results[0]['faces'][0]['scores']


def test_corrupt_image_in_a_folder_keeps_earlier_results(world, photos,
                                                         tmp_path):
    import shutil
    folder = tmp_path / 'mixed'
    folder.mkdir()
    shutil.copy(photos / 'astronaut.jpg', folder / 'a.jpg')
    (folder / 'b.jpg').write_bytes(b'\xff\xd8 truncated jpeg')
    out = tmp_path / 'partial.json'
    with pytest.raises(ValueError, match='cannot read image file .*b.jpg'):
        infer.main([str(folder), world['config'], world['ckpt'], '--out',
                    str(out)])
    saved = json.loads(out.read_text())
    assert [osp.basename(r['image']) for r in saved] == ['a.jpg']
