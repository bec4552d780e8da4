"""Pretrain the tiny demo CLIP on generated faces and action-unit captions.

Thin CLI of :func:`mpa_fer_plugin.demo.pretrain_tiny_clip.
pretrain_tiny_clip` (recipe, losses and provenance are documented there).
The committed demo weights were made with::

    python tools/misc/pretrain_tiny_clip.py configs/demo_assets/tiny_clip
"""
import argparse
from typing import List, Optional

from mpa_fer_plugin.demo.pretrain_tiny_clip import pretrain_tiny_clip
from mpa_fer_plugin.utils.tool_utils import (
    add_runtime_args,
    apply_runtime_args,
)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line (``argv`` defaults to ``sys.argv[1:]``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out_dir', help='output folder')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--steps', type=int, default=700)
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--num-images', type=int, default=3000)
    parser.add_argument('--num-heldout', type=int, default=700)
    parser.add_argument('--name-prob', type=float, default=0.3,
                        help='fraction of captions naming the expression')
    parser.add_argument('--noun-prob', type=float, default=0.3,
                        help='fraction of names that are the class noun')
    parser.add_argument('--region-weight', type=float, default=1.0,
                        help='weight of the region-caption patch term')
    parser.add_argument('--topk-weight', type=float, default=1.0,
                        help='weight of the top-k patch contrastive term')
    parser.add_argument('--topk', type=int, default=8)
    parser.add_argument('--lr', type=float, default=1e-3)
    add_runtime_args(parser)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> dict:
    """Run the pretraining from the command line."""
    args = parse_args(argv)
    apply_runtime_args(args)
    return pretrain_tiny_clip(
        args.out_dir, seed=args.seed, steps=args.steps,
        batch_size=args.batch_size, num_images=args.num_images,
        num_heldout=args.num_heldout, name_prob=args.name_prob,
        noun_prob=args.noun_prob, region_weight=args.region_weight,
        topk_weight=args.topk_weight, topk=args.topk, lr=args.lr)


if __name__ == '__main__':
    main()
