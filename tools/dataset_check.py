"""Check a copy of RAF-DB, AffectNet-7/8 or FERPlus before training.

Reads every split with the plugin's dataset class and prints the class
order the model will use, per-split and per-class counts beside the
official ones, images present in two splits (content hash), missing and
unreadable files and the image sizes; writes a contact sheet per class and
a JSON report to ``--out-dir``. The last line is ``RESULT: PASS`` or
``RESULT: FAIL (n problem(s))`` after one ``FAIL:`` line per problem; the
exit status is 0 on PASS and 1 on FAIL.

``--expected counts.json`` compares with your own counts instead of the
official ones: ``{"train": 560}`` (totals), ``{"train": {"Anger": 80,
...}}`` (per class) or ``{"train": {"total": 560, "per_class": {...}}}``.

Examples::

    python tools/dataset_check.py rafdb data/rafdb/basic \\
        --out-dir work_dirs/check_rafdb
    python tools/dataset_check.py affectnet8 data/affectnet
    python tools/dataset_check.py ferplus data/ferplus --layout folder
"""
import argparse
import json
import os
import os.path as osp
import sys
from typing import List, Optional

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('dataset', choices=['rafdb', 'affectnet7',
                                            'affectnet8', 'ferplus'])
    parser.add_argument('data_root', help='the dataset root folder')
    parser.add_argument('--expected', help='JSON file of expected counts '
                        '(default: the official counts)')
    parser.add_argument('--splits', nargs='+', help='splits to read '
                        '(default: all of the dataset)')
    parser.add_argument('--layout', help='RAF-DB: official/folder; '
                        'FERPlus: csv/folder (default: auto)')
    parser.add_argument('--image-source', choices=['aligned', 'original'],
                        help='RAF-DB official layout: image folder')
    parser.add_argument('--allow-duplicates', type=int, default=0,
                        help='images in two splits tolerated (default 0)')
    parser.add_argument('--out-dir', default='work_dirs/dataset_check',
                        help='contact sheets and report.json')
    parser.add_argument('--sheet-split', default='',
                        help='split of the contact sheets (default: first)')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    """Run the check; return the exit status (0 PASS, 1 FAIL)."""
    args = parse_args(argv)
    import mpa_fer_plugin  # noqa: F401  (registers the datasets)
    from mpa_fer_plugin.datasets.check import check_dataset
    from mpa_fer_plugin.datasets.check_sheets import (
        format_report,
        write_contact_sheets,
        write_json,
    )
    expected = None
    if args.expected:
        with open(args.expected) as f:
            expected = json.load(f)
    kwargs = {}
    if args.layout:
        kwargs['layout'] = args.layout
    if args.image_source:
        kwargs['image_source'] = args.image_source
    report = check_dataset(args.dataset, args.data_root, expected,
                           args.splits, args.allow_duplicates, **kwargs)
    os.makedirs(args.out_dir, exist_ok=True)
    sheets = write_contact_sheets(report, args.out_dir, args.sheet_split)
    write_json(report, osp.join(args.out_dir, 'report.json'))
    text = format_report(report)
    print(f'contact sheets: {len(sheets)} PNG(s) in {args.out_dir}')
    print(text)
    return 0 if report['passed'] else 1


if __name__ == '__main__':
    sys.exit(main())
