"""tools/infer.py: top-k per image, JSON, heatmaps, open vocabulary, errors."""
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
        str(show), '--batch-size', '2'
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
        assert cv2.imread(result['heatmap']).shape == (256, 256, 3)
    assert sorted(p.stem for p in show.iterdir()) == names


def test_open_vocabulary_and_class_heatmap(world, faces, tmp_path):
    results = infer.main([
        str(faces / 'a_happy.jpg'), world['config'], world['ckpt'],
        '--classes', 'contempt, confusion', '--heatmap-dir',
        str(tmp_path), '--class', 'Confusion', '--heatmap-size', '96'
    ])
    assert set(results[0]['scores']) == {'contempt', 'confusion'}
    assert len(results[0]['topk']) == 2  # min(topk=3, classes)
    assert cv2.imread(results[0]['heatmap']).shape == (96, 96, 3)


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
         world['config'], world['ckpt'], '--topk', '1'],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env=dict(os.environ, HF_HUB_OFFLINE='1'))
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [ln for ln in proc.stdout.splitlines() if 'b_sad.png: ' in ln]
    assert len(line) == 1 and len(line[0].split(': ')[1].split(', ')) == 1
