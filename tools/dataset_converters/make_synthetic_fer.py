"""Write a synthetic FER dataset in the official RAF-DB layout.

Example::

    python tools/dataset_converters/make_synthetic_fer.py data/synthetic_fer \
        --num-train 700 --num-test 140 --size 100 --seed 0 --classes 7

The output is read by ``RAFDB(data_root='data/synthetic_fer')`` and by
``configs/_base_/datasets/synthetic_fer.py``.
"""
import argparse
from typing import List, Optional

from mpa_fer_plugin.datasets.categories import FER_CLASSES
from mpa_fer_plugin.datasets.synthetic import generate_synthetic_fer


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line (``argv`` defaults to ``sys.argv[1:]``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out_dir', help='output root directory')
    parser.add_argument('--num-train', type=int, default=700,
                        help='number of training images (default: 700)')
    parser.add_argument('--num-test', type=int, default=140,
                        help='number of test images (default: 140)')
    parser.add_argument('--size', type=int, default=100,
                        help='image side in pixels (default: 100, as the '
                        'RAF-DB aligned faces)')
    parser.add_argument('--seed', type=int, default=0,
                        help='random seed; equal seeds give identical files')
    parser.add_argument('--classes', type=int, choices=(7, 8), default=7,
                        help='7 basic expressions, or 8 with Contempt '
                        '(written as the extra RAF-DB code 8)')
    parser.add_argument('--class-weights', type=float, nargs='+',
                        help='relative class frequencies in the order '
                        f'{", ".join(FER_CLASSES)} (default: balanced)')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    """Generate the dataset and print the per-class counts."""
    args = parse_args(argv)
    counts = generate_synthetic_fer(
        args.out_dir,
        num_train=args.num_train,
        num_test=args.num_test,
        size=args.size,
        seed=args.seed,
        num_classes=args.classes,
        class_weights=args.class_weights)
    for split, per_class in counts.items():
        print(f'{split}: ' + ', '.join(
            f'{name}={n}' for name, n in zip(FER_CLASSES, per_class)))


if __name__ == '__main__':
    main()
