"""Distributed-correctness checks, run once with 1 process and once with 2.

Usage (the tests in ``test_distributed.py`` do this)::

    python dist_checks.py CONFIG OUT
    torchrun --nproc_per_node 2 dist_checks.py CONFIG OUT \\
        --launcher pytorch --ref OUT_OF_THE_SINGLE_RUN

Every rank writes ``OUT/rank{r}.pt`` with what the tests compare. The
training set is cut to 27 images (an odd number: uneven shards) and loaded
with the test pipeline in a fixed order, so that 2 ranks with batch ``B``
see the same images per step as 1 process with batch ``2B``.

1. ``tools/misc/build_prototypes.py`` (in this process). Single run: into
   the cache folder of the next run, which must then load, not recompute.
   With 2 ranks: to an explicit ``--out`` file, so the next run computes
   through the hook under DDP.
2. ``full``: 2 iterations; buffers and text features before training,
   prototypes and prompts after, metrics of ``runner.test()``.
3. ``resume``: 1 iteration reusing the ``full`` cache (a cache hit), then a
   new runner with ``resume=True`` to 2 iterations whose cache folder must
   stay unused (the checkpoint holds the prototypes).
4. With ``--ref``: ``runner.test()`` of the single run's final checkpoint.
"""
import argparse
import glob
import os
import os.path as osp
import sys

import torch

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(osp.dirname(HERE))
GLOBAL_BATCH = 8
NUM_TRAIN = 27


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('config')
    parser.add_argument('out')
    parser.add_argument('--launcher', default='none')
    parser.add_argument('--ref', default=None)
    return parser.parse_args()


def make_cfg(args, name, max_iters, world, cache_dir=None, resume=False,
             load_from=None):
    from mmengine.config import Config, ConfigDict
    cfg = Config.fromfile(args.config)
    loader = cfg.train_dataloader
    loader.batch_size = GLOBAL_BATCH // world
    loader.sampler = ConfigDict(type='DefaultSampler', shuffle=False)
    loader.dataset.pipeline = cfg.test_dataloader.dataset.pipeline
    loader.dataset.indices = NUM_TRAIN
    cfg.train_cfg = ConfigDict(by_epoch=False, max_iters=max_iters)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.param_scheduler = [
        ConfigDict(type='ConstantLR', factor=1.0, by_epoch=False)]
    cfg.default_hooks.checkpoint = ConfigDict(
        type='CheckpointHook', interval=1, by_epoch=False, save_best=None,
        max_keep_ckpts=3)
    for hook in cfg.custom_hooks:
        if hook.type == 'PrototypeHook':
            hook.cache_dir = cache_dir
    cfg.work_dir = osp.join(args.out, name)
    cfg.experiment_name = f'{name}_{max_iters}'
    cfg.launcher = args.launcher
    cfg.resume = resume
    cfg.load_from = load_from
    return cfg


def build(cfg):
    from mmengine.runner import Runner
    return Runner.from_cfg(cfg)


def unwrap(runner):
    from mmengine.model import is_model_wrapper
    model = runner.model
    return model.module if is_model_wrapper(model) else model


def snapshot_buffers(runner):
    """Every buffer of the model plus the eval-mode text features."""
    model = unwrap(runner)
    out = {n: b.detach().clone() for n, b in model.named_buffers()}
    model.eval()
    with torch.no_grad():
        out['text_features'] = model.head.text_features().clone()
    model.train()
    return out


def prompts(runner):
    model = unwrap(runner)
    return {n: p.detach().clone() for n, p in model.named_parameters()
            if p.requires_grad}


def prototypes(runner):
    head = unwrap(runner).head
    return head.prototypes.detach().clone(), bool(head.prototypes_set)


def cache_files(folder):
    return sorted(glob.glob(osp.join(folder, 'prototypes_*.pt')))


def run_tool(cfg, out=None):
    sys.path.insert(0, osp.join(ROOT, 'tools', 'misc'))
    from build_prototypes import main
    cfg = cfg.copy()
    cfg.experiment_name = 'tool'
    cfg_file = cfg.work_dir + '_cfg.py'
    cfg.dump(cfg_file)
    argv = [cfg_file, '--work-dir', cfg.work_dir, '--launcher',
            cfg.launcher] + (['--out', out] if out else [])
    return main(argv)


def main():
    args = parse_args()
    from mmengine.dist import get_rank

    import mpa_fer_plugin  # noqa: F401
    world = int(os.environ.get('WORLD_SIZE', '1'))
    res = dict(world_size=world)

    # 1. The offline tool.
    full = make_cfg(args, 'full', 2, world)
    if world == 1:
        res['tool_file'] = run_tool(full)
    else:
        res['tool_file'] = run_tool(full, osp.join(args.out, 'tool.pt'))
    res['rank'] = get_rank()
    if res['tool_file']:
        res['tool_protos'] = torch.load(res['tool_file'],
                                        weights_only=True)['prototypes']
    cache_dir = osp.join(full.work_dir, 'prototypes')
    before = {f: os.stat(f).st_mtime_ns for f in cache_files(cache_dir)}

    # 2. An uninterrupted run of 2 iterations.
    runner = build(full)
    res['buffers'] = snapshot_buffers(runner)
    res['prompts_init'] = prompts(runner)
    runner.train()
    res['prototypes'] = prototypes(runner)
    res['prompts_full'] = prompts(runner)
    res['metrics_full'] = runner.test()
    res['cache_before'] = before
    res['cache_after'] = {f: os.stat(f).st_mtime_ns
                          for f in cache_files(cache_dir)}
    res['cache_keys'] = [torch.load(f, weights_only=True)['key']
                         for f in cache_files(cache_dir)]
    res['cache_meta'] = [torch.load(f, weights_only=True)['meta']
                         for f in cache_files(cache_dir)]

    # 3. 1 iteration (prototypes from the cache above), then resume to 2.
    runner = build(make_cfg(args, 'resume', 1, world, cache_dir=cache_dir))
    runner.train()
    res['prototypes_cached'] = prototypes(runner)
    unused = osp.join(args.out, 'unused_cache')
    runner = build(make_cfg(args, 'resume', 2, world, cache_dir=unused,
                            resume=True))
    runner.train()
    res['prototypes_resumed'] = prototypes(runner)
    res['prompts_resumed'] = prompts(runner)
    res['metrics_resumed'] = runner.test()
    res['unused_cache_exists'] = osp.exists(unused)

    # 4. The single run's final checkpoint, evaluated here.
    if args.ref:
        ckpt = osp.join(args.ref, 'full', 'iter_2.pth')
        runner = build(make_cfg(args, 'eval', 2, world, load_from=ckpt))
        res['metrics_ref_ckpt'] = runner.test()

    torch.save(res, osp.join(args.out, f'rank{get_rank()}.pt'))


if __name__ == '__main__':
    main()
