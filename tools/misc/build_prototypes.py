"""Compute the MPA-FER class prototypes of a config offline (Eq. 6).

Runs what the config's ``PrototypeHook`` does before training (frozen CLIP
image tower, training set with the test pipeline, ``samples_per_class``,
``normalize``) and writes the same cache file, so a later
``tools/train.py`` run with the same config and work dir loads it instead of
computing it::

    python tools/misc/build_prototypes.py CONFIG [--work-dir DIR]
    python tools/misc/build_prototypes.py CONFIG --out protos.pt
    torchrun --nproc_per_node 8 tools/misc/build_prototypes.py \\
        CONFIG --launcher pytorch

Without ``--out`` the file goes where the hook looks for it
(``cache_file``, or ``cache_dir``/``{work_dir}/prototypes`` with a name
derived from the cache key). A file written with ``--out`` can be used
with ``model.head.prototypes=FILE`` or the hook's ``cache_file=FILE``.
With a launcher, every rank encodes its shard of the images.
"""
import argparse
import logging
import os
import os.path as osp
import sys
import warnings
from typing import List, Optional

sys.path.insert(
    0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

warnings.filterwarnings('ignore', message='.*torch.cuda.amp.*')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(
        description='Compute the class prototypes of an MPA-FER config')
    parser.add_argument('config', help='training config file')
    parser.add_argument(
        '--out', help='output file (default: the cache file the '
        "config's PrototypeHook reads)")
    parser.add_argument(
        '--work-dir', help='work dir, as for tools/train.py (the default '
        'cache folder is {work_dir}/prototypes)')
    parser.add_argument(
        '--force', action='store_true',
        help='recompute even if a matching file exists')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config keys, e.g. model.clip.pretrained=PATH')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def prototype_hook_cfg(cfg) -> Optional[dict]:
    """Return the ``PrototypeHook`` entry of ``cfg.custom_hooks``."""
    for hook in cfg.get('custom_hooks', None) or []:
        kind = hook.get('type', '') if isinstance(hook, dict) else ''
        if isinstance(kind, str) and kind.split('.')[-1] == 'PrototypeHook':
            return dict(hook)
    return None


def main(argv: Optional[List[str]] = None) -> Optional[str]:
    """Run the tool; return the written file (rank 0) or None."""
    args = parse_args(argv)
    from mmengine.config import Config
    from mmengine.dist import is_main_process
    from mmengine.logging import print_log
    from mmengine.runner import Runner
    from mmpretrain.registry import HOOKS

    import mpa_fer_plugin  # noqa: F401  (registers parts, applies shims)
    from mpa_fer_plugin.utils.tool_utils import set_default_dataloader_cfg

    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    set_default_dataloader_cfg(cfg, 'train_dataloader')
    hook_cfg = prototype_hook_cfg(cfg)
    if hook_cfg is None:
        hook_cfg = dict(type='PrototypeHook')
        print_log('the config has no PrototypeHook in custom_hooks; using '
                  'its defaults', logger='current', level=logging.WARNING)

    runner = Runner.from_cfg(cfg)
    hook = HOOKS.build(hook_cfg)
    _, path = hook.prepare(runner, force=args.force, progress=True,
                           out=args.out)
    if is_main_process():
        print_log(f'class prototypes: {path}', logger='current')
        return path
    return None


if __name__ == '__main__':
    main()
