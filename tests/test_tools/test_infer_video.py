"""tools/infer_video.py: CSV, annotated video and summary; bad videos."""
import csv
import importlib.util
import json
import os.path as osp
import sys

import cv2
import numpy as np
import pytest

sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.abspath(
    __file__))), 'test_apis'))
from mpa_world import get_world, load_tool  # noqa: E402

infer_video = load_tool('infer_video.py')


@pytest.fixture(scope='module')
def world(tmp_path_factory, tiny_clip_spec):
    return get_world(tmp_path_factory, tiny_clip_spec)


def _portrait_video(path, frames=6):
    from skimage import data

    from mpa_fer_plugin.apis.face import write_video
    img = np.ascontiguousarray(data.astronaut()[..., ::-1])
    small = cv2.resize(img, (256, 256), interpolation=cv2.INTER_AREA)
    return write_video(str(path), [np.roll(small, 2 * f, axis=1)
                                   for f in range(frames)], fps=5)


def test_video_tool(world, tmp_path, capsys):
    video = _portrait_video(tmp_path / 'portrait.avi')
    out_csv, out_vid = tmp_path / 'timeline.csv', tmp_path / 'fer.mp4'
    summary = infer_video.main([
        video, world['config'], world['ckpt'], '--out-csv', str(out_csv),
        '--out-video', str(out_vid), '--detect-every', '2',
        '--out-summary', str(tmp_path / 's.json'), '--threads', '1'
    ])
    assert summary['frames'] == 6 and summary['tracks'] == 1
    installed = importlib.util.find_spec('yuface') is not None
    assert summary['detector'] == ('YuFaceDetector' if installed else
                                   'HaarFaceDetector')  # 'auto'
    with open(out_csv, newline='') as f:
        rows = list(csv.DictReader(f))
    assert [int(r['frame']) for r in rows] == list(range(6))
    assert json.loads((tmp_path / 's.json').read_text())['rows'] == 6
    cap = cv2.VideoCapture(str(out_vid))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 6
    cap.release()
    assert 'frames/s' in capsys.readouterr().out


def test_video_tool_box_updates(world, tmp_path):
    video = _portrait_video(tmp_path / 'portrait.avi')
    x1 = {}
    for flag in ([], ['--box-updates']):
        out_csv = tmp_path / f'c{len(flag)}.csv'
        infer_video.main([video, world['config'], world['ckpt'],
                          '--out-csv', str(out_csv), '--detect-every', '3',
                          '--no-smooth', '--threads', '1'] + flag)
        with open(out_csv, newline='') as f:
            x1[bool(flag)] = [float(r['x1']) for r in csv.DictReader(f)]
    # the face moves 2 px a frame: held boxes stay put between
    # detections, updated ones follow it
    assert x1[False][1] == x1[False][0] and x1[False][2] == x1[False][0]
    assert x1[True][0] == x1[False][0]
    assert x1[True][2] - x1[True][0] == pytest.approx(4, abs=2)


def test_bad_videos(world, tmp_path):
    broken = tmp_path / 'broken.mp4'
    broken.write_bytes(b'\x00\x00\x00\x18ftypmp42' + b'\x00' * 64)
    with pytest.raises(ValueError, match='cannot read video .*broken.mp4'):
        infer_video.main([str(broken), world['config'], world['ckpt']])
    with pytest.raises(FileNotFoundError, match='video file not found'):
        infer_video.main([str(tmp_path / 'none.mp4'), world['config'],
                          world['ckpt']])
