"""Predict facial expressions of every face in photos with MPA-FER.

Detects the faces of each image (default ``auto``: libfacedetection's CNN
from the ``yuface`` wheel where it is installed, else OpenCV's Haar
cascades with a warning; no download), aligns each one to the crop
geometry the model was trained on and prints its box and top-k
expressions. Images without a face give an empty list. ``--no-detect``
classifies the whole image as one face (for crops that are already
aligned). ``--out`` writes JSON (with the detector's class name per
image), ``--show-dir`` draws boxes, labels and probability bars (small
images are upscaled first so the text stays readable), ``--heatmap-dir``
CGLA patch heatmaps of the aligned crops. ``--classes`` scores other
class names with the learned text context (experimental open-vocabulary
scoring).

The model is a config with its checkpoint, a zero-shot config without one
(configs/zero_shot/, docs/zero_shot.md) or a model name of the model index
(model-index.yml, docs/model_zoo.md; its weights are checksum-verified).
Every output names the model by its card (what it was trained on): the
printout, each JSON item (``model``, ``model_card``) and a strip under
each drawing. A model trained on the synthetic demo world warns once.

Examples::

    python tools/infer.py group.jpg configs/mpa_fer_demo.py epoch_10.pth
    python tools/infer.py group.jpg configs/zero_shot/zsclip_vit-b16_openai.py
    python tools/infer.py group.jpg mpa-fer_tiny-clip_demo
    python tools/infer.py photos/ CONFIG CKPT --out results.json \\
        --show-dir vis/ --heatmap-dir heatmaps/
    python tools/infer.py aligned_faces/ CONFIG CKPT --no-detect --topk 2
    python tools/infer.py photo.jpg CONFIG CKPT --geometry my_crops.json \\
        --detector mtcnn
"""
import argparse
import json
import os
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
    parser.add_argument('img', help='an image file or a folder of images')
    parser.add_argument('config', help='the config file, or a model name '
                        'of the model index (docs/model_zoo.md)')
    parser.add_argument('checkpoint', nargs='?', default=None,
                        help='the (prompt-only) checkpoint; leave it out '
                        'for a zero-shot config or a model name')
    parser.add_argument('--topk', type=int, default=3,
                        help='expressions to print per face (default 3)')
    parser.add_argument('--out', help='write the results to this JSON file')
    parser.add_argument('--show-dir',
                        help='save drawn results (boxes, labels, bars) here')
    parser.add_argument('--heatmap-dir',
                        help='save CGLA patch heatmaps (PNG) here')
    parser.add_argument('--class', dest='class_name',
                        help='class of the heatmaps (default: predicted)')
    parser.add_argument('--classes',
                        help='comma-separated class names to score instead '
                        'of the trained ones (experimental)')
    parser.add_argument('--no-detect', action='store_true',
                        help='the whole image is one face (pre-aligned '
                        'crops; the behaviour before face detection)')
    parser.add_argument('--detector', default='auto',
                        help='face detector: auto (default: yuface where '
                        'installed, else haar, else lbp), yuface, haar, lbp, '
                        'mtcnn (needs '
                        'facenet-pytorch) or a name registered in '
                        'mpa_fer_plugin.apis.face.FACE_DETECTORS')
    parser.add_argument('--geometry',
                        help='crop geometry: rafdb_aligned, realigned_224, '
                        "ferplus_48 or a JSON file (default: from the "
                        "config's dataset)")
    parser.add_argument('--calibrate-on', metavar='FOLDER',
                        help="measure the crop geometry on the model's "
                        'training crops in FOLDER and use it')
    parser.add_argument('--save-geometry', metavar='JSON',
                        help='write the crop geometry used to this file')
    parser.add_argument('--min-face', type=int, default=0,
                        help='ignore faces smaller than this (pixels)')
    parser.add_argument('--max-faces', type=int, default=None,
                        help='keep only the most confident faces')
    parser.add_argument('--show-size', type=int, default=480,
                        help='upscale drawn images to this shorter side')
    parser.add_argument('--batch-size', type=int, default=1)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--heatmap-size', type=int, default=256,
                        help='longer side of the heatmap PNGs in pixels')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings (key=value)')
    add_runtime_args(parser)
    return parser.parse_args(argv)


def _pairs(topk: list) -> str:
    return ', '.join(f"{t['class']} {t['score']:.3f}" for t in topk)


def _check_args(args, classes=None) -> None:
    if args.topk < 1:
        raise ValueError(f'--topk={args.topk} must be >= 1')
    if args.batch_size < 1:
        raise ValueError(f'--batch-size={args.batch_size} must be >= 1')
    if classes is not None and args.class_name is not None:
        known = [c.lower() for c in classes]
        if args.class_name.strip().lower() not in known:
            raise ValueError(f'--class {args.class_name!r} is not one of '
                             f'the classes {tuple(classes)}')


def main(argv: Optional[List[str]] = None) -> List[dict]:
    """Run the tool; return one result dict per image."""
    args = parse_args(argv)
    from mpa_fer_plugin.utils.tool_utils import check_image_config_order
    check_image_config_order(args.img, args.config, 'tools/infer.py IMAGE '
                             'CONFIG [CHECKPOINT] (image or folder first)')
    warnings.filterwarnings('ignore', message='.*MultiScaleDeformable.*')
    from mmengine.utils import ProgressBar

    from mpa_fer_plugin.apis import init_mpa_model, list_images, load_image
    from mpa_fer_plugin.apis.face import (
        FERPipeline,
        calibrate_geometry,
        draw_faces,
        save_geometry,
    )
    from mpa_fer_plugin.utils.tool_utils import apply_runtime_args

    apply_runtime_args(args)
    _check_args(args)
    images = list_images(args.img)
    classnames = None
    if args.classes is not None:
        classnames = [c.strip() for c in args.classes.split(',')
                      if c.strip()]
        if not classnames:
            raise ValueError(f'--classes={args.classes!r} names no class')
    from mpa_fer_plugin.apis.model_card import card_label, ensure_model_card
    from mpa_fer_plugin.apis.model_zoo import resolve_model
    config, checkpoint = resolve_model(args.config, args.checkpoint)
    model = init_mpa_model(config, checkpoint, device=args.device,
                           cfg_options=args.cfg_options)
    card = ensure_model_card(model, checkpoint)
    if checkpoint is None and card['kind'] != 'zero-shot':
        raise ValueError(
            f'{args.config} has learnable prompts but no checkpoint was '
            'given: pass the checkpoint trained with it, a zero-shot config '
            '(configs/zero_shot/) or a model name (docs/model_zoo.md)')
    label = card_label(card)
    print(f'model: {label}', flush=True)
    pipe = FERPipeline(
        model=model, topk=args.topk, classnames=classnames,
        detector='none' if args.no_detect else args.detector,
        geometry=args.geometry, min_face=args.min_face,
        max_faces=args.max_faces)
    _check_args(args, pipe.classes)
    detector = type(pipe.detector).__name__  # recorded per image
    if args.calibrate_on:
        crops = [load_image(p) for p in list_images(args.calibrate_on)]
        pipe.geometry = calibrate_geometry(pipe.detector, crops)
        print(f'crop geometry measured on {len(crops)} crops: '
              f'{pipe.geometry.to_dict()}', flush=True)
    if args.save_geometry:
        save_geometry(pipe.geometry, args.save_geometry)
    for folder in (args.show_dir, args.heatmap_dir):
        if folder:
            os.makedirs(folder, exist_ok=True)

    out, drawn_crops = [], []
    bar = ProgressBar(len(images)) if len(images) > 1 else None
    for path in images:
        try:
            img = load_image(path)
        except (OSError, ValueError):
            if args.out and out:  # keep what was done, then fail
                with open(args.out, 'w', encoding='utf-8') as f:
                    json.dump(out, f, indent=2)
                print(f'{len(out)} results before {path} written to '
                      f'{args.out}', flush=True)
            raise
        if args.no_detect:  # today's behaviour: the test pipeline's crop
            faces = pipe.classify([img], args.batch_size)
            h, w = img.shape[:2]
            for face in faces:
                face.update(box=[0.0, 0.0, float(w), float(h)], score=1.0,
                            landmarks=None, crop=dict(method='none'))
            crops = [img]
        else:
            faces, crops = pipe.predict(img, return_crops=True,
                                        batch_size=args.batch_size)
        stem = osp.splitext(osp.basename(path))[0]
        item = dict(image=path, detector=detector, model=label,
                    model_card=card, faces=faces)
        if args.no_detect:  # flat fields, as before face detection
            item.update({k: faces[0][k] for k in (
                'pred_label', 'pred_class', 'pred_score', 'topk',
                'scores')})
        if args.show_dir:
            target = osp.join(args.show_dir, f'{stem}.png')
            drawn = pipe.label_drawing(
                draw_faces(img, faces, pipe.classes, args.show_size))
            if not cv2_write(target, drawn):
                raise OSError(f'could not write {target}')
        out.append(item)
        drawn_crops.append(crops)
        if bar is not None:
            bar.update()
    if bar is not None:
        bar.file.write('\n')
    for item in out:
        faces = item['faces']
        if args.no_detect:
            print(f"{item['image']}: {_pairs(item['topk'])}", flush=True)
        elif not faces:
            print(f"{item['image']}: no face", flush=True)
        else:
            print(f"{item['image']}: {len(faces)} face(s)", flush=True)
            for k, face in enumerate(faces, 1):
                box = ', '.join(f'{v:.0f}' for v in face['box'])
                print(f"  face {k} [{box}]: {_pairs(face['topk'])}",
                      flush=True)
    if args.heatmap_dir:
        for item, crops in zip(out, drawn_crops):
            stem = osp.splitext(osp.basename(item['image']))[0]
            for k, (face, crop) in enumerate(zip(item['faces'], crops), 1):
                name = (f'{stem}_cgla.png' if args.no_detect else
                        f'{stem}_face{k}_cgla.png')
                target = osp.join(args.heatmap_dir, name)
                pipe.heatmap(crop, target, class_name=args.class_name,
                             display_size=args.heatmap_size)
                face['heatmap'] = target
                if args.no_detect:
                    item['heatmap'] = target
        print(f'heatmaps written to {args.heatmap_dir}', flush=True)
    if args.out:
        with open(args.out, 'w', encoding='utf-8') as f:
            json.dump(out, f, indent=2)
        print(f'results written to {args.out}', flush=True)
    return out


def cv2_write(path: str, img) -> bool:
    """Write an image with OpenCV (True on success)."""
    import cv2
    return bool(cv2.imwrite(path, img))


if __name__ == '__main__':
    main()
