"""Facial expressions over a video file or a webcam with MPA-FER.

Detects faces every ``--detect-every`` frames (OpenCV Haar cascades by
default), follows them in between by box overlap, classifies every face on
every frame, optionally smooths each track's probabilities (``--smooth``,
EMA weight of the new frame; ``--no-smooth`` turns it off) and writes an
annotated video (``--out-video``) and a CSV timeline (``--out-csv``: frame,
time, track, box, label, probabilities). Prints frames per second. A
webcam is a device index (``0``); stop it with Ctrl-C or ``--max-frames``.
A missing, corrupt or unreadable video is an error that names the file.
A video that ends before the frame count of its header is processed to its
last readable frame and reported on stderr and in the summary
(``ended_early``, ``frames_announced``). ``SIGTERM`` stops a run like
Ctrl-C, after the frame in progress (a second signal stops at once): the
annotated video is finalised, the CSV keeps the rows written so far and
the summary is printed and written; the exit status is then 143
(128 + SIGTERM), so that a scheduler sees the run was cut short.

Examples::

    python tools/infer_video.py clip.mp4 configs/mpa_fer_demo.py CKPT \\
        --out-video clip_fer.mp4 --out-csv clip_fer.csv
    python tools/infer_video.py 0 CONFIG CKPT --out-video cam.avi \\
        --max-frames 300 --detect-every 10
"""
import argparse
import json
import os.path as osp
import sys
import warnings
from typing import List, Optional

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    from mmengine.config import DictAction

    from mpa_fer_plugin.utils.tool_utils import add_runtime_args
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('video', help='a video file, or a webcam index')
    parser.add_argument('config', help='the config file, or a model name '
                        'of the model index (docs/model_zoo.md)')
    parser.add_argument('checkpoint', nargs='?', default=None,
                        help='the (prompt-only) checkpoint; leave it out '
                        'for a zero-shot config or a model name')
    parser.add_argument('--out-video', help='annotated video (.mp4/.avi)')
    parser.add_argument('--out-csv', help='CSV timeline, one row per frame '
                        'and track')
    parser.add_argument('--out-summary', help='write the summary as JSON')
    parser.add_argument('--detect-every', type=int, default=5,
                        help='run the detector every N frames (default 5)')
    parser.add_argument('--smooth', type=float, default=0.3,
                        help='EMA weight of the new frame (default 0.3)')
    parser.add_argument('--no-smooth', action='store_true',
                        help='per-frame probabilities, no smoothing')
    parser.add_argument('--iou', type=float, default=0.3,
                        help='box overlap that continues a track')
    parser.add_argument('--box-updates', action='store_true',
                        help='between detections, look for each face again '
                        'near its box (off by default: measured no help on '
                        'the demo videos, at half the frame rate)')
    parser.add_argument('--max-frames', type=int, default=None)
    parser.add_argument('--detector', default='auto',
                        help='auto (default: yuface where installed, else '
                        'haar, else lbp), yuface, haar, lbp, mtcnn or a '
                        'registered name')
    parser.add_argument('--geometry', help='crop geometry preset or JSON '
                        "file (default: from the config's dataset)")
    parser.add_argument('--min-face', type=int, default=0)
    parser.add_argument('--max-faces', type=int, default=None)
    parser.add_argument('--show-size', type=int, default=480,
                        help='upscale small frames of the video to this '
                        'shorter side')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    add_runtime_args(parser)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> dict:
    """Run the tool; return the summary of :func:`process_video`."""
    args = parse_args(argv)
    warnings.filterwarnings('ignore', message='.*MultiScaleDeformable.*')
    from mpa_fer_plugin.apis.face import (
        FERPipeline,
        open_video,
        process_video,
    )
    from mpa_fer_plugin.utils.tool_utils import apply_runtime_args

    apply_runtime_args(args)
    if not (args.out_video or args.out_csv or args.out_summary):
        print('note: no --out-video/--out-csv given; only the summary is '
              'printed', flush=True)
    open_video(args.video)[0].release()  # fail before the model build
    pipe = FERPipeline(args.config, args.checkpoint, detector=args.detector,
                       geometry=args.geometry, min_face=args.min_face,
                       max_faces=args.max_faces, device=args.device,
                       cfg_options=args.cfg_options)
    print(f"model: {pipe.describe()['model']}", flush=True)
    summary = process_video(
        pipe, args.video, out_video=args.out_video, out_csv=args.out_csv,
        detect_every=args.detect_every,
        smooth=None if args.no_smooth else args.smooth,
        iou_threshold=args.iou, max_frames=args.max_frames,
        min_side=args.show_size, refine=args.box_updates)
    print(f"{summary['frames']} frames, {summary['tracks']} track(s), "
          f"{summary['rows']} rows, {summary['fps']:.1f} frames/s "
          f"(video: {summary['fps_in']:.1f} fps); label changes "
          f"{summary['flips_raw']} per frame -> {summary['flips_smoothed']} "
          f"smoothed; detector {summary['detector']}", flush=True)
    for key in ('video', 'csv'):
        if summary[key]:
            print(f'{key} written to {summary[key]}', flush=True)
    if args.out_summary:
        with open(args.out_summary, 'w', encoding='utf-8') as f:
            json.dump(summary, f, indent=2)
    if summary.get('ended_early'):
        print(f"warning: {args.video} ended after {summary['frames']} of "
              f"the {summary['frames_announced']} frames its header "
              'announces (truncated or damaged file); the outputs cover '
              'only the frames read', file=sys.stderr, flush=True)
    if summary.get('stopped'):
        print(f"stopped by {summary['stopped']} after {summary['frames']} "
              'frames; the outputs are complete up to there',
              file=sys.stderr, flush=True)
    return summary


if __name__ == '__main__':
    if main().get('stopped') == 'SIGTERM':
        sys.exit(128 + 15)
