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


def test_truncated_video_reported(world, tmp_path, capsys):
    rng = np.random.default_rng(2)
    from mpa_fer_plugin.apis.face import write_video
    path = tmp_path / 'cut.avi'
    write_video(str(path), [rng.integers(0, 255, (48, 48, 3), np.uint8)
                            for _ in range(40)], fps=10)
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * 0.6)])
    summary = infer_video.main([
        str(path), world['config'], world['ckpt'], '--out-summary',
        str(tmp_path / 's.json'), '--threads', '1'])
    assert summary['ended_early'] and summary['frames_announced'] == 40
    err = capsys.readouterr().err
    assert f"ended after {summary['frames']} of the 40 frames" in err
    saved = json.loads((tmp_path / 's.json').read_text())
    assert saved['ended_early'] is True and saved['frames'] < 40


def test_sigterm_leaves_finalised_outputs(world, tmp_path):
    """A real SIGTERM to the tool: video, CSV and summary all complete."""
    import os
    import signal
    import subprocess
    import time
    video = _portrait_video(tmp_path / 'long.avi', frames=600)
    out_csv, out_vid = tmp_path / 't.csv', tmp_path / 't.avi'
    out_sum = tmp_path / 's.json'
    env = dict(os.environ, HF_HUB_OFFLINE='1', OMP_NUM_THREADS='1',
               PYTHONWARNINGS='ignore')
    proc = subprocess.Popen(
        [sys.executable, infer_video.__file__, video, world['config'],
         world['ckpt'], '--out-csv', str(out_csv), '--out-video',
         str(out_vid), '--out-summary', str(out_sum), '--threads', '1'],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 240
        while time.time() < deadline and proc.poll() is None:
            if out_csv.exists() and len(out_csv.read_text().splitlines()) \
                    > 10:
                break
            time.sleep(0.2)
        if proc.poll() is not None:
            pytest.fail('the run ended before the signal: '
                        + proc.communicate()[1][-3000:])
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + 15, err[-2000:]
    assert 'stopped by SIGTERM' in err
    summary = json.loads(out_sum.read_text())
    assert summary['stopped'] == 'SIGTERM', summary
    assert 10 <= summary['frames'] < 600, summary
    with open(out_csv, newline='') as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == summary['rows']
    assert [int(r['frame']) for r in rows] == list(range(summary['rows']))
    cap = cv2.VideoCapture(str(out_vid))
    frames = 0
    while cap.read()[0]:
        frames += 1
    cap.release()
    assert frames == summary['frames']
