"""tools/analysis_tools/face_eval.py: tables and JSON on a tiny world."""
import importlib.util
import json
import os.path as osp
import sys

import cv2

sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.abspath(
    __file__))), 'test_apis'))
from mpa_world import get_world, load_tool  # noqa: E402

face_eval = load_tool('analysis_tools/face_eval.py')
#: What the default detector ('auto') builds here.
AUTO = ('YuFaceDetector' if importlib.util.find_spec('yuface') else
        'HaarFaceDetector')


def test_face_eval_tool(tmp_path_factory, tiny_clip_spec, capsys):
    from mpa_fer_plugin.datasets.synthetic import generate_synthetic_fer
    world = get_world(tmp_path_factory, tiny_clip_spec)
    tmp = tmp_path_factory.mktemp('face_eval')
    root = str(tmp / 'demo')
    generate_synthetic_fer(root, num_train=2, num_test=4, size=64, seed=0)
    out = str(tmp / 'r.json')
    res = face_eval.main([
        world['config'], world['ckpt'], '--data-root', root, '--scenes',
        '1', '--per-scene', '2', '--scene-seeds', '0', '1', '--geometry',
        'default', 'demo_64', '--clutter-scenes', '1', '--seeds', '0',
        '--detect-every', '5', '--work-dir', str(tmp / 'v'), '--out', out,
        '--save-scene', str(tmp / 's.png'), '--threads', '1'
    ])
    printed = capsys.readouterr().out
    assert '| default |' in printed and '| demo_64 |' in printed
    assert ' of 4 (' in printed and '(n=' in printed
    assert 'face-free clutter:' in printed and 'in 2 scenes' in printed
    assert '\n| 5 |' in printed and '(4) |' in printed
    saved = json.loads(open(out).read())
    runs = saved['scenes']['demo_64']['runs']
    assert sorted(runs) == ['0', '1'] and runs['0']['faces'] == 2
    assert saved['scenes']['demo_64']['geometry']['size'] == 64
    assert saved['detector'] == AUTO and f'detector: {AUTO}' in printed
    run = saved['video']['5']['runs']['0']
    assert run['frames'] == 60 and run['true_flips'] == 4
    assert cv2.imread(str(tmp / 's.png')).shape == (400, 640, 3)
    assert res['video']['5']['runs'][0]['rows'] == run['rows']
    # whole test frames pasted from the folder (the earlier measure)
    res = face_eval.main([
        world['config'], world['ckpt'], '--data-root', root,
        '--scene-kind', 'pasted', '--scenes', '2', '--per-scene', '2',
        '--geometry', 'default', '--seeds', '--threads', '1',
        '--detector', '{"type": "haar", "blur": 0, "min_neighbors": 5}'
    ])
    assert res['scenes']['default']['faces'] == 4 and not res['video']
    assert json.loads(res['args']['detector'])['blur'] == 0
    assert res['detector'] == 'HaarFaceDetector'


def test_detection_only_needs_no_model(tmp_path, capsys):
    out = str(tmp_path / 'd.json')
    res = face_eval.main([
        '--detection-only', '--detector', 'haar', '--scenes', '1',
        '--per-scene', '2', '--scene-seeds', '0', '1', '--clutter-scenes',
        '1', '--out', out, '--threads', '1'
    ])
    printed = capsys.readouterr().out
    assert '| haar | ' in printed and ' of 4 (' in printed
    with open(out) as f:
        saved = json.load(f)
    assert sorted(saved['detection']) == ['0', '1']
    assert saved['detection']['0']['faces'] == 2
    assert res['clutter']['scenes'] == 2
    assert saved['detector'] == 'HaarFaceDetector'
    try:
        face_eval.main(['--detector', 'haar'])
    except SystemExit as e:
        assert e.code == 2
    else:
        raise AssertionError('no model and no --detection-only: an error')
