"""Measure the photo/video pipeline on the demo world's faces.

Scenes (default ``--scene-kind drawn``): for every ``--scene-seeds``
seed, ``--scenes`` scenes of ``--per-scene`` demo faces of ``--split``
drawn into clutter at known boxes
(``mpa_fer_plugin.apis.face.evaluate.evaluate_face_scenes``; the faces are
regenerated from their seeds, no data on disk needed), once per
``--geometry`` (``default``: the config's; ``calibrated``: measured on
``--calibrate-n`` training frames; or a preset/JSON); found faces are
compared with the same faces cut at their true boxes and as their own
demo frames, paired over seeds; ``--clutter-scenes`` counts detections on
face-free clutter. ``--scene-kind pasted`` pastes whole test frames read
from ``--data-root`` instead (``evaluate_scenes``). Video: for every
``--seeds`` seed and ``--detect-every`` value, a 60-frame video of two
faces changing expression (``expression_video``), per-frame vs smoothed
label changes and accuracy, with paired 95 % intervals. Prints the tables;
``--out`` writes everything as JSON. ``--detection-only`` runs just the
detector on the same drawn scenes (and ``--clutter-scenes``): faces found,
false positives and IoU, no model, so CONFIG and CHECKPOINT may be left
out (``evaluate_detector_scenes``).

Example::

    python tools/analysis_tools/face_eval.py configs/mpa_fer_demo.py \
        work_dirs/demo/epoch_10.pth --geometry default demo_64
    python tools/analysis_tools/face_eval.py --detection-only \
        --detector yuface --clutter-scenes 20
"""
import argparse
import json
import os
import os.path as osp
import sys
import tempfile
from typing import List, Optional

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    from mpa_fer_plugin.utils.tool_utils import add_runtime_args
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', nargs='?')
    parser.add_argument('checkpoint', nargs='?')
    parser.add_argument('--detection-only', action='store_true',
                        help='run only the detector on the drawn scenes '
                        '(no model: CONFIG and CHECKPOINT are not needed)')
    parser.add_argument('--data-root', default='data/synthetic_fer',
                        help='the demo world (test faces, training frames)')
    parser.add_argument('--scene-kind', choices=('drawn', 'pasted'),
                        default='drawn')
    parser.add_argument('--split', default='test',
                        help='faces of the drawn scenes')
    parser.add_argument('--scenes', type=int, default=20,
                        help='scenes per seed (0: no scenes)')
    parser.add_argument('--per-scene', type=int, default=5)
    parser.add_argument('--scene-seeds', type=int, nargs='+',
                        default=[0, 1, 2, 3, 4])
    parser.add_argument('--clutter-scenes', type=int, default=0,
                        help='face-free clutter scenes per seed (false '
                        'positives)')
    parser.add_argument('--geometry', nargs='+',
                        default=['default', 'demo_64'])
    parser.add_argument('--calibrate-n', type=int, default=200)
    parser.add_argument('--detector', default='auto',
                        help='auto (default: yuface where installed, else '
                        'haar, else lbp), a name, or a JSON dict of '
                        'settings, e.g. '
                        '\'{"type": "haar", "blur": 0}\'')
    parser.add_argument('--seeds', type=int, nargs='*', default=[0, 1, 2, 3,
                                                                  4],
                        help='video seeds (none: skip the video)')
    parser.add_argument('--detect-every', type=int, nargs='+', default=[5, 1])
    parser.add_argument('--video-kind', choices=('drawn', 'pasted'),
                        default='drawn',
                        help='faces drawn at drifting boxes, or whole demo '
                        'frames pasted')
    parser.add_argument('--box-updates', action='store_true',
                        help='also run every --detect-every > 1 with box '
                        'updates between detections')
    parser.add_argument('--video-geometry', default='default',
                        help='geometry of the video runs (default: the '
                        "config's)")
    parser.add_argument('--save-scene', metavar='IMAGE',
                        help='write the first scene (input for '
                        'tools/infer.py)')
    parser.add_argument('--work-dir', help='keep videos and CSVs here')
    parser.add_argument('--out', help='write all results as JSON')
    add_runtime_args(parser)
    args = parser.parse_args(argv)
    if not args.detection_only and args.checkpoint is None:
        parser.error('CONFIG and CHECKPOINT are needed unless '
                     '--detection-only')
    return args


def main(argv: Optional[List[str]] = None) -> dict:
    """Run the measures; return the results."""
    args = parse_args(argv)
    import cv2

    from mpa_fer_plugin.apis.face import FERPipeline, calibrate_geometry
    from mpa_fer_plugin.apis.face import evaluate as ev
    from mpa_fer_plugin.utils.tool_utils import apply_runtime_args
    apply_runtime_args(args)
    opts = {f'{k}.dataset.data_root': args.data_root
            for k in ('train_dataloader', 'val_dataloader',
                      'test_dataloader')}
    detector = (json.loads(args.detector)
                if args.detector.lstrip().startswith('{') else args.detector)
    if args.detection_only:
        return _write(args, detection_only(args, detector))
    pipe = FERPipeline(args.config, args.checkpoint, detector=detector,
                       cfg_options=opts)
    default = pipe.geometry
    geos = {}
    print(f'detector: {type(pipe.detector).__name__}', flush=True)

    def geometry(name):
        if name not in geos:
            if name == 'default':
                geos[name] = default
            elif name == 'calibrated':
                train = ev.load_demo_faces(args.data_root, 'train',
                                           args.calibrate_n)
                geos[name] = calibrate_geometry(
                    pipe.detector, [f['image'] for f in train])
            else:
                from mpa_fer_plugin.apis.face import build_geometry
                geos[name] = build_geometry(
                    name, detector=type(pipe.detector).__name__)
        return geos[name]

    def save_scene(index, scene, truth, res):
        if args.save_scene and index == 0:
            os.makedirs(osp.dirname(osp.abspath(args.save_scene)),
                        exist_ok=True)
            cv2.imwrite(args.save_scene, scene)

    results = dict(args=vars(args), detector=type(pipe.detector).__name__,
                   scenes={}, video={})
    if not args.scenes:
        pass
    elif args.scene_kind == 'pasted':
        test = ev.load_demo_faces(args.data_root, 'test')
        print(ev.SCENE_HEADER, flush=True)
    else:
        specs = ev.world_face_specs(args.split)
        print(ev.FACE_SCENE_HEADER, flush=True)
    first = args.scene_seeds[0]
    for name in args.geometry if args.scenes else ():
        pipe.geometry = geometry(name)
        if args.scene_kind == 'pasted':
            r = ev.evaluate_scenes(pipe, test, args.scenes, args.per_scene,
                                   first, on_scene=save_scene)
            print(ev.scene_row(name, r), flush=True)
        else:
            runs = {seed: ev.evaluate_face_scenes(
                pipe, specs, args.scenes, args.per_scene, seed,
                on_scene=save_scene if seed == first else None)
                for seed in args.scene_seeds}
            r = dict(runs=runs, paired=ev.paired_scene_table(runs))
            print(ev.face_scene_row(name, runs), flush=True)
        r['geometry'] = pipe.geometry.to_dict()
        results['scenes'][name] = r
    if args.clutter_scenes:
        fp = ev.clutter_false_positives(pipe.detector, args.clutter_scenes,
                                        args.scene_seeds)
        results['clutter'] = fp
        print(f"\nface-free clutter: {fp['detections']} detections in "
              f"{fp['scenes']} scenes", flush=True)
    if not args.seeds:
        return _write(args, results)
    pipe.geometry = geometry(args.video_geometry)
    work = args.work_dir or tempfile.mkdtemp(prefix='face_eval_')
    os.makedirs(work, exist_ok=True)
    print('\n' + ev.VIDEO_HEADER, flush=True)
    settings = [(every, False) for every in args.detect_every]
    if args.box_updates:
        settings += [(every, True) for every in args.detect_every
                     if every > 1]
    drawn = args.video_kind == 'drawn'
    for every, refine in settings:
        name = f'{every} + box updates' if refine else str(every)
        runs = {}
        for seed in args.seeds:
            spec = ev.expression_video(osp.join(work, f'gen_{seed}.avi'),
                                       seed, drawn=drawn)
            runs[seed] = ev.score_video(
                pipe, spec['video'], spec['boxes'], spec['labels'],
                osp.join(work, f'de{every}_r{int(refine)}_seed{seed}.csv'),
                detect_every=every, refine=refine)
            runs[seed]['true_flips'] = spec['true_flips']
        results['video'][name] = dict(
            runs=runs, paired=ev.paired_video_table(runs))
        print(ev.video_row(name, runs), flush=True)
    return _write(args, results)


def detection_only(args: argparse.Namespace, detector) -> dict:
    """Faces found by the detector alone on the drawn scenes."""
    from mpa_fer_plugin.apis.face import build_face_detector
    from mpa_fer_plugin.apis.face import detection_eval as de
    from mpa_fer_plugin.apis.face import evaluate as ev
    det = build_face_detector(detector)
    specs = ev.world_face_specs(args.split)
    runs = {seed: de.evaluate_detector_scenes(det, specs, args.scenes,
                                              args.per_scene, seed)
            for seed in args.scene_seeds} if args.scenes else {}
    name = type(det).__name__
    results = dict(args=vars(args), detector=name, detection=runs)
    if args.clutter_scenes:
        results['clutter'] = ev.clutter_false_positives(
            det, args.clutter_scenes, args.scene_seeds)
    if runs:
        print(de.DETECTION_HEADER)
        label = name if args.detector == 'auto' else args.detector
        print(de.detection_row(label, runs, results.get('clutter')),
              flush=True)
    return results


def _write(args, results: dict) -> dict:
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w', encoding='utf-8') as f:
            json.dump(results, f, indent=1, default=str)
        print(f'results written to {args.out}', flush=True)
    return results


if __name__ == '__main__':
    main()
