"""Evaluate a checkpoint with mmengine's Runner (mmpretrain's flags).

Prints and optionally dumps the metrics (``--out --out-item metrics``) or
the raw predictions (``--out --out-item pred``, mmengine ``DumpResults``).
"""
import argparse
import os.path as osp
import sys
import warnings
from copy import deepcopy

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

warnings.filterwarnings('ignore', message='.*torch.cuda.amp.*')

import mmengine  # noqa: E402
from mmengine.config import Config, ConfigDict  # noqa: E402
from mmengine.evaluator import DumpResults  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

import mpa_fer_plugin  # noqa: E402,F401  (registers parts, applies shims)
from mpa_fer_plugin.utils.cfg_check import warn_unused_options  # noqa: E402
from mpa_fer_plugin.utils.tool_utils import (  # noqa: E402
    SHOW_MIN_SIZE,
    add_launch_args,
    add_runtime_args,
    apply_launch_args,
    apply_runtime_args,
    check_config_file,
    enable_visualization,
    set_default_dataloader_cfg,
)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Evaluate a model on the test set')
    parser.add_argument('config', help='test config file path, or a model '
                        'name of the model index (docs/model_zoo.md)')
    parser.add_argument(
        'checkpoint', nargs='?', default=None,
        help="checkpoint file, or 'none' to evaluate the model as built "
        '(e.g. zero-shot CLIP, which has nothing to train); with a model '
        'name: its checksum-verified weights by default')
    parser.add_argument(
        '--work-dir',
        help='the directory to save the file containing evaluation metrics')
    parser.add_argument('--out', help='the file to output results.')
    parser.add_argument(
        '--out-item',
        choices=['metrics', 'pred'],
        help='To output whether metrics or predictions. '
        'Defaults to output predictions.')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='enable automatic-mixed-precision test (GPU only)')
    parser.add_argument(
        '--show-dir',
        help='directory where the visualization images will be saved.')
    parser.add_argument(
        '--show',
        action='store_true',
        help='whether to display the prediction results in a window.')
    parser.add_argument(
        '--show-size',
        type=int,
        default=SHOW_MIN_SIZE,
        help='shorter side in pixels of the --show/--show-dir drawings: '
        'small faces are upscaled so the labels stay legible '
        f'(default: {SHOW_MIN_SIZE})')
    parser.add_argument(
        '--interval',
        type=int,
        default=1,
        help='visualize per interval samples.')
    parser.add_argument(
        '--wait-time',
        type=float,
        default=2,
        help='display time of every window. (second)')
    parser.add_argument(
        '--no-pin-memory',
        action='store_true',
        help='whether to disable the pin_memory option in dataloaders.')
    parser.add_argument(
        '--tta',
        action='store_true',
        help='Whether to enable the Test-Time-Aug (TTA). If the config file '
        'has `tta_pipeline` and `tta_model` fields, use them to determine the '
        'TTA transforms and how to merge the TTA results. Otherwise, use flip '
        'TTA by averaging classification score.')
    add_launch_args(parser)
    add_runtime_args(parser)
    args = parser.parse_args(argv)
    apply_launch_args(args)
    if args.out is None and args.out_item is not None:
        parser.error('--out-item needs --out')
    return args


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Merge command-line arguments into the config."""
    cfg.launcher = args.launcher

    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])

    if args.checkpoint.lower() == 'none':
        cfg.load_from = None
    else:
        if not osp.isfile(args.checkpoint):
            raise FileNotFoundError(
                f'checkpoint {args.checkpoint!r} not found (pass none to '
                'evaluate the model as built)')
        cfg.load_from = args.checkpoint

    if args.amp:
        cfg.test_cfg = dict(cfg.get('test_cfg') or {}, fp16=True)

    if args.show or args.show_dir:
        enable_visualization(cfg, args.show, args.show_dir, args.interval,
                             args.wait_time, args.show_size)

    if args.tta:
        if 'tta_model' not in cfg:
            cfg.tta_model = dict(type='mmpretrain.AverageClsScoreTTA')
        if 'tta_pipeline' not in cfg:
            test_pipeline = cfg.test_dataloader.dataset.pipeline
            cfg.tta_pipeline = deepcopy(test_pipeline)
            flip_tta = dict(
                type='TestTimeAug',
                transforms=[
                    [
                        dict(type='RandomFlip', prob=1.),
                        dict(type='RandomFlip', prob=0.)
                    ],
                    [test_pipeline[-1]],
                ])
            cfg.tta_pipeline[-1] = flip_tta
        cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline

    set_default_dataloader_cfg(
        cfg, 'test_dataloader', no_pin_memory=args.no_pin_memory)

    if args.cfg_options is not None:
        warn_unused_options(cfg, args.cfg_options)
        cfg.merge_from_dict(args.cfg_options)
        set_default_dataloader_cfg(cfg, 'test_dataloader', recheck_only=True)
    return cfg


def to_builtin(obj):
    """Convert tensors/arrays (e.g. a confusion matrix) for JSON/YAML."""
    if isinstance(obj, dict):
        return {k: to_builtin(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_builtin(v) for v in obj]
    if hasattr(obj, 'tolist'):
        return obj.tolist()
    return obj


def main(argv=None) -> dict:
    args = parse_args(argv)
    apply_runtime_args(args)
    if args.out is not None and args.out_item in (None, 'pred') and \
            not args.out.endswith(('.pkl', '.pickle')):
        raise ValueError(f'--out {args.out!r}: predictions are dumped as a '
                         'pickle; use a .pkl path (or --out-item metrics)')
    from mpa_fer_plugin.apis.model_zoo import resolve_cli_model
    args.config, args.checkpoint = resolve_cli_model(args.config,
                                                     args.checkpoint)
    check_config_file(args.config, 'tools/test.py CONFIG CHECKPOINT|none '
                      '[--work-dir DIR] or tools/test.py MODEL_NAME')
    cfg = Config.fromfile(args.config)
    cfg = merge_args(cfg, args)

    if 'runner_type' not in cfg:
        runner = Runner.from_cfg(cfg)
    else:
        from mmengine.registry import RUNNERS
        runner = RUNNERS.build(cfg)

    if args.out and args.out_item in ('pred', None):
        runner.test_evaluator.metrics.append(
            DumpResults(out_file_path=args.out))

    metrics = runner.test()

    if args.out and args.out_item == 'metrics':
        mmengine.dump(to_builtin(metrics), args.out)
    return metrics


if __name__ == '__main__':
    main()
