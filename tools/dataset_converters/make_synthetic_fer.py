"""Write the synthetic FER demo world in the official RAF-DB layout.

Example (the demo world of ``make demo``)::

    python tools/dataset_converters/make_synthetic_fer.py data/synthetic_fer \
        --num-train 1400 --num-test 2100 --size 64 --seed 0

The output is read by ``RAFDB(data_root='data/synthetic_fer')`` and by
``configs/_base_/datasets/synthetic_fer.py``; it also holds per-image
region masks and a manifest (see ``mpa_fer_plugin.datasets.synthetic``).
A non-empty output folder is refused unless ``--overwrite`` is given.
"""
import argparse
from typing import List, Optional

from mpa_fer_plugin.datasets.categories import FER_CLASSES
from mpa_fer_plugin.datasets.synthetic import SHIFTS, generate_synthetic_fer


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
    parser.add_argument('--test-shift', nargs='+', choices=SHIFTS,
                        default=[], help='factors drawn from a shifted '
                        'distribution in the test split only')
    parser.add_argument('--overwrite', action='store_true',
                        help='clear a non-empty output folder first')
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
        class_weights=args.class_weights,
        test_shift=args.test_shift,
        overwrite=args.overwrite)
    for split, per_class in counts.items():
        print(f'{split}: ' + ', '.join(
            f'{name}={n}' for name, n in zip(FER_CLASSES, per_class)))


if __name__ == '__main__':
    main()
