"""Predict facial expressions for an image or a folder with MPA-FER.

Prints the top-k expressions with their scores for every image; optionally
writes them to JSON, draws mmpretrain's prediction images (``--show-dir``)
and CGLA patch heatmaps (``--heatmap-dir``). ``--classes`` scores the
images against other class names with the learned text context
(experimental open-vocabulary scoring; shared context only).

Examples::

    python tools/infer.py face.jpg configs/mpa_fer_demo.py epoch_6.pth
    python tools/infer.py faces/ CONFIG CKPT --topk 3 --out results.json \\
        --heatmap-dir heatmaps/ --class Happiness
    python tools/infer.py face.jpg CONFIG CKPT --classes "contempt,confusion"
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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('img', help='an image file or a folder of images')
    parser.add_argument('config', help='the config file')
    parser.add_argument('checkpoint', help='the (prompt-only) checkpoint')
    parser.add_argument('--topk', type=int, default=3,
                        help='expressions to print per image (default 3)')
    parser.add_argument('--out', help='write the results to this JSON file')
    parser.add_argument('--show-dir',
                        help='save mmpretrain prediction images here')
    parser.add_argument('--heatmap-dir',
                        help='save CGLA patch heatmaps (PNG) here')
    parser.add_argument('--class', dest='class_name',
                        help='class of the heatmaps (default: predicted)')
    parser.add_argument('--classes',
                        help='comma-separated class names to score instead '
                        'of the trained ones (experimental)')
    parser.add_argument('--batch-size', type=int, default=1)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--heatmap-size', type=int, default=256,
                        help='longer side of the heatmap PNGs in pixels')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings (key=value)')
    return parser.parse_args(argv)


def _format(path: str, result: dict) -> str:
    pairs = ', '.join(f'{name} {score:.3f}' for name, score in result['topk'])
    return f'{path}: {pairs}'


def main(argv: Optional[List[str]] = None) -> List[dict]:
    """Run the tool; return one result dict per image."""
    args = parse_args(argv)
    warnings.filterwarnings('ignore', message='.*MultiScaleDeformable.*')
    from mpa_fer_plugin.apis import (
        MPAFERInferencer,
        init_mpa_model,
        list_images,
    )

    if args.topk < 1:
        raise ValueError(f'--topk={args.topk} must be >= 1')
    if args.batch_size < 1:
        raise ValueError(f'--batch-size={args.batch_size} must be >= 1')
    images = list_images(args.img)
    classnames = None
    if args.classes is not None:
        classnames = [c.strip() for c in args.classes.split(',')
                      if c.strip()]
        if not classnames:
            raise ValueError(f'--classes={args.classes!r} names no class')
    model = init_mpa_model(args.config, args.checkpoint, device=args.device,
                           cfg_options=args.cfg_options)
    inferencer = MPAFERInferencer(model, classnames=classnames,
                                  topk=args.topk)
    if args.class_name is not None:
        known = [c.lower() for c in inferencer.classes]
        if args.class_name.strip().lower() not in known:
            raise ValueError(f'--class {args.class_name!r} is not one of '
                             f'the classes {tuple(inferencer.classes)}')
    if args.show_dir:
        os.makedirs(args.show_dir, exist_ok=True)
    results = inferencer(images, batch_size=args.batch_size,
                         show_dir=args.show_dir)

    out = []
    for path, result in zip(images, results):
        print(_format(path, result), flush=True)
        out.append(dict(
            image=path,
            pred_label=int(result['pred_label']),
            pred_class=result['pred_class'],
            pred_score=float(result['pred_score']),
            topk=[{'class': c, 'score': s} for c, s in result['topk']],
            scores=dict(zip(inferencer.classes,
                            map(float, result['pred_scores'])))))
    if args.heatmap_dir:
        from mmengine.utils import track_iter_progress

        from mpa_fer_plugin.visualization import draw_cgla_heatmap
        os.makedirs(args.heatmap_dir, exist_ok=True)
        for item in track_iter_progress(out) if len(out) > 1 else out:
            stem = osp.splitext(osp.basename(item['image']))[0]
            target = osp.join(args.heatmap_dir, f'{stem}_cgla.png')
            draw_cgla_heatmap(
                model, item['image'], target, class_name=args.class_name,
                classnames=inferencer.open_names,
                text_feats=inferencer.open_text_feats,
                display_size=args.heatmap_size)
            item['heatmap'] = target
        print(f'heatmaps written to {args.heatmap_dir}', flush=True)
    if args.out:
        with open(args.out, 'w', encoding='utf-8') as f:
            json.dump(out, f, indent=2)
        print(f'results written to {args.out}', flush=True)
    return out


if __name__ == '__main__':
    main()
