"""Evaluate a checkpoint on the test split and draw its confusion matrix.

Like mmpretrain's ``tools/analysis_tools/confusion_matrix.py`` (it reuses
the ``ConfusionMatrix`` metric), but the checkpoint is checked against the
config first, the plugin is imported explicitly, the class names come from
the test dataset's ``metainfo['classes']`` and the plot
(:func:`mpa_fer_plugin.visualization.plot_confusion_matrix`) shows
row-normalised recall with values, WAR/UAR in the title and a colour bar
(``--normalize none`` for counts, ``--include-counts`` for both). A
predictions pickle written by ``tools/test.py --out preds.pkl`` can be
given instead of a checkpoint.

Example::

    python tools/analysis_tools/confusion_matrix.py configs/mpa_fer_demo.py \\
        work_dirs/demo/epoch_10.pth --show-path work_dirs/demo/cm.png
"""
import argparse
import os.path as osp
import sys
import tempfile
import warnings
from typing import List, Optional

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='the config file')
    parser.add_argument('ckpt_or_result',
                        help='a checkpoint (.pth) or a predictions pickle '
                        '(.pkl) from tools/test.py --out')
    parser.add_argument('--out', help='save the matrix (.json/.pkl)')
    parser.add_argument('--show-path', help='save the plot here (e.g. PNG)')
    parser.add_argument('--show', action='store_true',
                        help='display the plot')
    parser.add_argument('--normalize', choices=['recall', 'none'],
                        default='recall',
                        help='recall: percent of each true class (default; '
                        'the diagonal is the per-class recall); none: counts')
    parser.add_argument('--include-values',
                        action=argparse.BooleanOptionalAction, default=True,
                        help='write the values into the cells (default: '
                        'yes)')
    parser.add_argument('--include-counts', action='store_true',
                        help='with --normalize recall, add the counts')
    parser.add_argument('--title', default=None,
                        help='first title line (default: "Confusion matrix '
                        '- <config name>")')
    parser.add_argument('--cmap', default='Blues', help='matplotlib cmap')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings (key=value)')
    from mpa_fer_plugin.utils.tool_utils import add_runtime_args
    add_runtime_args(parser)
    return parser.parse_args(argv)


def _runner_matrix(cfg, checkpoint: str):
    """Run the test loop with a ConfusionMatrix metric."""
    from mmengine.runner import Runner

    from mpa_fer_plugin.utils.tool_utils import set_default_dataloader_cfg
    cfg.test_evaluator = dict(type='ConfusionMatrix')
    cfg.load_from = checkpoint
    # Only the test loop runs: leave training and validation out, so
    # configs without an optimizer or val settings work too.
    for key in ('train_dataloader', 'train_cfg', 'optim_wrapper',
                'param_scheduler', 'val_dataloader', 'val_cfg',
                'val_evaluator'):
        cfg[key] = None
    set_default_dataloader_cfg(cfg, 'test_dataloader')
    with tempfile.TemporaryDirectory() as tmp:
        cfg.work_dir = tmp
        runner = Runner.from_cfg(cfg)
        # runner.test() loads the checkpoint through the plugin's check
        # (mpa_fer_plugin.utils.checkpoint_check): a checkpoint of another
        # config, incomplete, non-finite or corrupt is refused there.
        classes = runner.test_loop.dataloader.dataset.metainfo.get('classes')
        matrix = runner.test()['confusion_matrix/result']
    return matrix, classes


def _offline_matrix(cfg, pkl: str):
    """Confusion matrix of dumped predictions."""
    import mmengine
    from mmengine.evaluator import Evaluator
    from mmpretrain.evaluation import ConfusionMatrix
    from mmpretrain.registry import DATASETS
    preds = mmengine.load(pkl)
    matrix = Evaluator(ConfusionMatrix()).offline_evaluate(
        preds, None)['confusion_matrix/result']
    dataset = DATASETS.build({**cfg.test_dataloader.dataset, 'pipeline': []})
    return matrix, dataset.metainfo.get('classes')


def main(argv: Optional[List[str]] = None):
    """Run the tool; return ``(matrix, classes)``."""
    args = parse_args(argv)
    warnings.filterwarnings('ignore', message='.*MultiScaleDeformable.*')
    import mmengine
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import mpa_fer_plugin  # noqa: F401  (registers the plugin)
    from mpa_fer_plugin.utils.tool_utils import apply_runtime_args
    apply_runtime_args(args)
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file not found: {args.config}')
    if not osp.isfile(args.ckpt_or_result):
        raise FileNotFoundError(
            f'checkpoint or result file not found: {args.ckpt_or_result}')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    if args.ckpt_or_result.endswith('.pkl'):
        matrix, classes = _offline_matrix(cfg, args.ckpt_or_result)
    else:
        matrix, classes = _runner_matrix(cfg, args.ckpt_or_result)
    if classes is not None and len(classes) != matrix.shape[0]:
        raise ValueError(f'the dataset has {len(classes)} classes but the '
                         f'predictions {matrix.shape[0]}')
    if args.out:
        mmengine.dump(matrix.tolist(), args.out)
        print(f'confusion matrix saved to {args.out}', flush=True)
    if args.show or args.show_path:
        if not args.show:
            import matplotlib
            matplotlib.use('Agg')
        from mpa_fer_plugin.visualization import plot_confusion_matrix
        title = args.title or 'Confusion matrix - ' + osp.splitext(
            osp.basename(args.config))[0]
        fig = plot_confusion_matrix(
            matrix, classes, normalize=args.normalize,
            include_values=args.include_values,
            include_counts=args.include_counts, title=title,
            cmap=args.cmap)
        if args.show:
            import matplotlib.pyplot as plt
            plt.show()
        if args.show_path:
            fig.savefig(args.show_path, bbox_inches='tight')
            print(f'confusion matrix plot saved to {args.show_path}',
                  flush=True)
        import matplotlib.pyplot as plt
        plt.close(fig)
    return matrix, classes


if __name__ == '__main__':
    main()
