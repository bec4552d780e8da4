"""apis/face/video.py: CSV timeline, annotated video, bad sources."""
import csv

import cv2
import numpy as np
import pytest
from face_data import astronaut_face_patch

from mpa_fer_plugin.apis.face import (
    FERPipeline,
    clutter,
    open_video,
    process_video,
    write_video,
)


@pytest.fixture(scope='module')
def pipe(infer_model):
    return FERPipeline(model=infer_model, topk=1)


@pytest.fixture(scope='module')
def two_face_video(tmp_path_factory):
    """12 frames, 160 x 320: two photo faces drifting over clutter."""
    patch, _ = astronaut_face_patch()
    face = cv2.resize(patch, (120, 120), interpolation=cv2.INTER_AREA)
    bg = clutter(160, 320, np.random.default_rng(0), shapes=15)
    frames = []
    for f in range(12):
        img = bg.copy()
        for x0 in (10, 180):
            x = x0 + f
            img[20:140, x:x + 120] = face
        frames.append(img)
    path = str(tmp_path_factory.mktemp('video') / 'two.avi')
    return write_video(path, frames, fps=8)


def test_csv_one_row_per_frame_and_track(pipe, two_face_video, tmp_path):
    out_csv, out_vid = str(tmp_path / 't.csv'), str(tmp_path / 'a.mp4')
    summary = process_video(pipe, two_face_video, out_video=out_vid,
                            out_csv=out_csv, detect_every=3, smooth=0.5,
                            progress=False)
    assert summary['frames'] == 12 and summary['tracks'] == 2
    assert summary['rows'] == 24 and summary['fps'] > 0
    with open(out_csv, newline='') as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 24
    keys = {(int(r['frame']), int(r['track'])) for r in rows}
    assert keys == {(f, t) for f in range(12) for t in (1, 2)}
    assert [int(r['detected']) for r in rows if r['track'] == '1'] == \
        [1, 0, 0] * 4
    first = rows[0]
    assert float(first['time_s']) == 0.0 and float(rows[-1]['time_s']) == \
        pytest.approx(11 / 8, abs=1e-3)
    probs = [float(first[f'p_{c}']) for c in pipe.classes]
    assert sum(probs) == pytest.approx(1, abs=1e-3)
    assert first['label'] == pipe.classes[int(np.argmax(probs))]
    cap = cv2.VideoCapture(out_vid)  # the annotated video opens
    ok, frame = cap.read()
    n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    cap.release()
    assert ok and n == 12 and min(frame.shape[:2]) >= 480


def test_no_face_video(pipe, tmp_path):
    path = write_video(str(tmp_path / 'blank.avi'),
                       [np.full((64, 64, 3), 100, np.uint8)] * 4)
    summary = process_video(pipe, path, out_csv=str(tmp_path / 'b.csv'),
                            progress=False)
    assert summary['frames'] == 4 and summary['rows'] == 0
    with open(tmp_path / 'b.csv') as f:
        assert f.read().splitlines()[0].startswith('frame,time_s,track')


def test_bad_sources(pipe, tmp_path):
    with pytest.raises(FileNotFoundError, match='video file not found'):
        open_video(str(tmp_path / 'missing.mp4'))
    junk = tmp_path / 'junk.mp4'
    junk.write_bytes(b'\x00\x01 not a video' * 50)
    with pytest.raises(ValueError, match='cannot read video .*junk.mp4'):
        process_video(pipe, str(junk), progress=False)
    text = tmp_path / 'notes.avi'
    text.write_text('hello')
    with pytest.raises(ValueError, match='cannot read video .*notes.avi'):
        process_video(pipe, str(text), progress=False)
    with pytest.raises(ValueError, match='cannot open webcam 97'):
        open_video('97')
    with pytest.raises(ValueError, match='detect_every'):
        process_video(pipe, str(text), detect_every=0)
    with pytest.raises(ValueError, match='use .mp4, .avi or .mkv'):
        write_video(str(tmp_path / 'x.gif'), [np.zeros((8, 8, 3), np.uint8)])


def _truncated_avi(path, frames=40, keep=0.6):
    """An MJPG AVI whose header announces ``frames``, cut to ``keep``."""
    rng = np.random.default_rng(2)
    write_video(str(path), [rng.integers(0, 255, (48, 48, 3), np.uint8)
                            for _ in range(frames)], fps=10)
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])
    return str(path)


def test_truncated_video_is_reported(pipe, tmp_path, monkeypatch):
    import mpa_fer_plugin.apis.face.video as video_mod
    logged = []
    monkeypatch.setattr(video_mod, 'print_log',
                        lambda msg, **kw: logged.append(msg))
    path = _truncated_avi(tmp_path / 'cut.avi')
    summary = process_video(pipe, path, out_csv=str(tmp_path / 'c.csv'),
                            progress=False)
    assert summary['frames_announced'] == 40
    assert 0 < summary['frames'] < 40 and summary['ended_early'] is True
    assert summary['stopped'] is None
    assert any(f"ended after {summary['frames']} of the 40 frames" in m
               for m in logged)
    # a whole video, or one cut short on purpose, is not reported
    whole = write_video(str(tmp_path / 'whole.avi'),
                        [np.full((48, 48, 3), 90, np.uint8)] * 5)
    summary = process_video(pipe, whole, progress=False)
    assert summary['frames'] == summary['frames_announced'] == 5
    assert summary['ended_early'] is False
    summary = process_video(pipe, whole, max_frames=3, progress=False)
    assert summary['frames'] == 3 and summary['ended_early'] is False


@pytest.mark.parametrize('signame', ['SIGTERM', 'SIGINT'])
def test_sigterm_takes_the_ctrl_c_path(pipe, two_face_video, tmp_path,
                                       signame):
    """A signal during frame 5: that frame is finished, then the run stops;
    video, CSV and summary agree; the previous handlers are back."""
    import os
    import signal
    signum = getattr(signal, signame)

    class Signalled:
        """The pipeline, with a signal sent to this process at frame 5."""

        def __init__(self, inner):
            self.inner, self.calls = inner, 0

        def __getattr__(self, name):
            return getattr(self.inner, name)

        def classify(self, crops):
            self.calls += 1
            if self.calls == 6:
                os.kill(os.getpid(), signum)
            return self.inner.classify(crops)

    before = signal.getsignal(signal.SIGTERM), signal.getsignal(
        signal.SIGINT)
    out_csv, out_vid = str(tmp_path / 't.csv'), str(tmp_path / 't.avi')
    summary = process_video(Signalled(pipe), two_face_video,
                            out_video=out_vid, out_csv=out_csv,
                            progress=False)
    assert (signal.getsignal(signal.SIGTERM),
            signal.getsignal(signal.SIGINT)) == before
    assert summary['stopped'] == signame and summary['ended_early'] is False
    assert summary['frames'] == 6 and summary['rows'] == 12
    with open(out_csv, newline='') as f:
        rows = list(csv.DictReader(f))
    assert sorted({int(r['frame']) for r in rows}) == list(range(6))
    assert len(rows) == 12
    cap = cv2.VideoCapture(out_vid)
    n = 0
    while cap.read()[0]:
        n += 1
    cap.release()
    assert n == 6
