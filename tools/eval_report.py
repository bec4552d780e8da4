"""One evaluation report from several checkpoints (seeds) or result files.

Runs every checkpoint on the test split with the same Runner path as
``tools/test.py`` (or reads ``tools/test.py --out x.pkl`` result files)
and writes ``report.md``, ``report.json`` and PNGs to ``--out-dir``: WAR,
UAR, macro-F1, per-class precision / recall / F1, the row-normalised
confusion matrix, the expected calibration error before and after each
checkpoint's stored temperature with a reliability diagram, each as
mean ± std over the runs with every run's value, on all test images and
on each ``--subset NAME=LIST`` (a file of image names, e.g. the RAN
occlusion and pose lists, whose labels are folder numbers 0-6 in RAF-DB's
order: ``--subset-labels rafdb-folder``, the default). Every figure names
the model, the checkpoints, the selection rule, the dataset and the split.

Example::

    python tools/eval_report.py configs/protocols/holdout_demo.py \\
        --checkpoints work_dirs/s0/epoch_10.pth work_dirs/s1/epoch_10.pth \\
        --selection 'last epoch' --subset occlusion=occlusion_list.txt \\
        --out-dir work_dirs/report
"""
import argparse
import os.path as osp
import shlex
import sys
from typing import List, Optional

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    from mpa_fer_plugin.utils.tool_utils import add_runtime_args
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='the config of the checkpoints')
    parser.add_argument('--checkpoints', nargs='+', default=[],
                        help='one checkpoint per run (seed)')
    parser.add_argument('--results', nargs='+', default=[],
                        help='tools/test.py --out x.pkl result files')
    parser.add_argument('--run-names', nargs='+',
                        help='names of the runs (default: file names)')
    parser.add_argument('--split', default='test', choices=['test', 'val'],
                        help='split the checkpoints are run on')
    parser.add_argument('--subset', action='append', default=[],
                        metavar='NAME=LIST', help='a subset given as a '
                        'list of image names (repeatable)')
    parser.add_argument('--subset-labels', default='rafdb-folder',
                        choices=['rafdb-folder', 'rafdb', 'canonical',
                                 'none'],
                        help='label column of the lists (default: '
                        'rafdb-folder, the RAN lists: 0-6 = Surprise, '
                        'Fear, Disgust, Happiness, Sadness, Anger, Neutral)')
    parser.add_argument('--model', help='model name in the captions '
                        '(default: the config file name)')
    parser.add_argument('--dataset', help='dataset name in the captions '
                        '(default: the test dataset type and root)')
    parser.add_argument('--selection', default='not stated',
                        help="how each checkpoint was chosen, e.g. 'last "
                        "epoch' or 'best val accuracy'")
    parser.add_argument('--num-bins', type=int, default=15,
                        help='ECE bins (default 15)')
    parser.add_argument('--out-dir', default='work_dirs/eval_report')
    add_runtime_args(parser)
    args = parser.parse_args(argv)
    if not args.checkpoints and not args.results:
        parser.error('give --checkpoints and/or --results')
    for item in args.subset:
        if '=' not in item:
            parser.error(f'--subset {item!r}: expected NAME=LIST')
    return args


def main(argv: Optional[List[str]] = None) -> dict:
    """Write the report; return the report dict."""
    args = parse_args(argv)
    from mmengine.config import Config

    import mpa_fer_plugin  # noqa: F401  (registers parts)
    from mpa_fer_plugin.evaluation.report import build_report
    from mpa_fer_plugin.evaluation.report_io import load_runs, write_report
    from mpa_fer_plugin.utils.tool_utils import apply_runtime_args
    threads = apply_runtime_args(args)
    cfg = Config.fromfile(args.config)
    loader = cfg.test_dataloader if args.split == 'test' else \
        cfg.val_dataloader
    ds = loader.dataset
    dataset = args.dataset or f'{ds.get("type")} ' \
        f'{ds.get("data_root") or (ds.get("dataset") or {}).get("data_root")}'
    runs = load_runs(args.config, args.checkpoints, args.results,
                     args.split, args.run_names)
    classes = runs[0].get('classes') or tuple(cfg.model.head.classnames)
    subsets = dict(item.split('=', 1) for item in args.subset)
    report = build_report(runs, classes, subsets, args.subset_labels,
                          args.num_bins)
    meta = dict(
        model=args.model or osp.splitext(osp.basename(args.config))[0],
        config=args.config, dataset=dataset, split=args.split,
        selection=args.selection, threads=threads,
        checkpoints=[r['source'] for r in report['runs']],
        command='python tools/eval_report.py ' + ' '.join(
            shlex.quote(a) for a in (argv if argv is not None
                                     else sys.argv[1:])))
    files = write_report(report, runs, meta, args.out_dir, args.num_bins)
    summary = report['groups']['all']['summary']
    for key in ('war', 'uar', 'macro_f1', 'ece', 'ece_calibrated'):
        if key in summary:
            s = summary[key]
            std = '' if s['std'] is None else f' ± {s["std"]:.2f}'
            print(f'{key}: {s["mean"]:.2f}{std} (runs: '
                  + ', '.join(f'{v:.2f}' for v in s['values']) + ')')
    print(f'report: {files["markdown"]}')
    return report


if __name__ == '__main__':
    main()
