"""Train a model with mmengine's Runner (mmpretrain's flags and behaviour).

Differences from mmpretrain's ``tools/train.py``: the plugin is imported
(so its shims apply even if a config lacks ``custom_imports``), the repo
root is put on ``sys.path`` (runs from a source checkout without install),
and ``persistent_workers`` is only enabled when ``num_workers > 0``.
"""
import argparse
import os.path as osp
import sys
import warnings

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

warnings.filterwarnings('ignore', message='.*torch.cuda.amp.*')

from mmengine.config import Config  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

import mpa_fer_plugin  # noqa: E402,F401  (registers parts, applies shims)
from mpa_fer_plugin.utils.cfg_check import warn_unused_options  # noqa: E402
from mpa_fer_plugin.utils.low_memory import (  # noqa: E402
    enable_checkpointing,
    reexec_low_memory,
)
from mpa_fer_plugin.utils.tool_utils import (  # noqa: E402
    add_launch_args,
    add_runtime_args,
    apply_launch_args,
    apply_runtime_args,
    check_config_file,
    fit_schedule_to_training,
    set_default_dataloader_cfg,
)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a classifier')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='If specify checkpoint path, resume from it, while if not '
        'specify, try to auto resume from the latest checkpoint '
        'in the work directory.')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='automatic mixed precision (MPAAmpOptimWrapper): bfloat16 '
        'autocast on CPU, float16 autocast with dynamic loss scaling on GPU')
    parser.add_argument(
        '--low-memory',
        action='store_true',
        help='activation checkpointing of the image tower '
        '(model.backbone.with_cp=True) and, on glibc, an allocator that '
        'returns freed activations to the system: the command restarts '
        'itself with MALLOC_MMAP_THRESHOLD_=131072 and GLIBC_TUNABLES='
        'glibc.malloc.hugetlb=1 (see mpa_fer_plugin.utils.low_memory)')
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='Whether not to evaluate the checkpoint during training')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='whether to auto scale the learning rate according to the '
        'actual batch size and the original batch size.')
    parser.add_argument(
        '--no-pin-memory',
        action='store_true',
        help='whether to disable the pin_memory option in dataloaders.')
    parser.add_argument(
        '--no-persistent-workers',
        action='store_true',
        help='whether to disable the persistent_workers option in '
        'dataloaders.')
    add_launch_args(parser)
    add_runtime_args(parser)
    args = parser.parse_args(argv)
    apply_launch_args(args)
    return args


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Merge command-line arguments into the config."""
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None

    cfg.launcher = args.launcher

    # work_dir priority: CLI > config > ./work_dirs/<config name>
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])

    if args.amp:
        amp_types = ('OptimWrapper', 'AmpOptimWrapper', 'MPAAmpOptimWrapper')
        optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if optim_wrapper not in amp_types:
            raise ValueError(
                f'--amp needs optim_wrapper type one of {amp_types}, got '
                f'{optim_wrapper!r}')
        # mmengine's AmpOptimWrapper asserts a GPU; this subclass is the
        # same on a GPU and runs bfloat16 autocast on CPU.
        cfg.optim_wrapper.type = 'MPAAmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')

    if args.low_memory:
        enable_checkpointing(cfg)

    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume

    if args.auto_scale_lr:
        if cfg.get('auto_scale_lr') is None:
            raise ValueError('--auto-scale-lr needs `auto_scale_lr = '
                             'dict(base_batch_size=...)` in the config')
        cfg.auto_scale_lr.enable = True

    for field in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        set_default_dataloader_cfg(
            cfg, field, no_pin_memory=args.no_pin_memory,
            no_persistent_workers=args.no_persistent_workers)

    if args.cfg_options is not None:
        warn_unused_options(cfg, args.cfg_options)
        cfg.merge_from_dict(args.cfg_options)
        for field in ('train_dataloader', 'val_dataloader',
                      'test_dataloader'):
            set_default_dataloader_cfg(cfg, field, recheck_only=True)
    fit_schedule_to_training(cfg)  # e.g. train_cfg.max_epochs=1
    return cfg


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.low_memory and argv is None:
        # glibc reads the allocator settings at start-up: restart with
        # them (a no-op once they are set).
        reexec_low_memory()
    apply_runtime_args(args)
    check_config_file(args.config, 'tools/train.py CONFIG [--work-dir DIR] '
                      '[--cfg-options KEY=VALUE ...]')
    cfg = Config.fromfile(args.config)
    cfg = merge_args(cfg, args)
    if 'runner_type' not in cfg:
        runner = Runner.from_cfg(cfg)
    else:
        from mmengine.registry import RUNNERS
        runner = RUNNERS.build(cfg)
    runner.train()


if __name__ == '__main__':
    main()
