"""Count the trainable parameters and the checkpoint size of a model config.

Prints every trainable tensor, the trainable and frozen parameter counts,
the fp32 bytes of the trainable parameters and the size of the prompt-only
checkpoint (``torch.save(model.state_dict())``), e.g.::

    python tools/analysis_tools/count_params.py \\
        configs/_base_/models/mpa_fer_vit_b16.py --arch ViT-B-16

``--arch`` builds the architecture with random weights (offline, no
pretrained file needed); the counts do not depend on the weights.
"""
import argparse
import io
import os
import sys
from typing import Dict, List, Optional

#: Architectures accepted by ``--arch`` (open_clip model names).
ARCHS = ('ViT-B-16', 'ViT-L-14')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(
        description='Count trainable parameters, fp32 bytes and the '
        'prompt-only checkpoint size of a model config')
    parser.add_argument('config', help='config file (with a `model` dict)')
    parser.add_argument(
        '--arch', choices=ARCHS, default=None,
        help='build this CLIP architecture with random weights instead of '
        "the config's `clip` spec (offline)")
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, default=None,
        help='override config keys, e.g. model.clip.pretrained=PATH')
    parser.add_argument(
        '--quiet', action='store_true',
        help='print the totals only, not every trainable tensor')
    return parser.parse_args(argv)


def _set_random_arch(model_cfg, arch: str) -> None:
    """Point every ``clip`` spec of a model config at random weights."""
    spec = dict(model_name=arch, pretrained=None)
    model_cfg['clip'] = spec
    for key in ('backbone', 'head'):
        sub = model_cfg.get(key)
        if isinstance(sub, dict) and 'clip' in sub:
            sub.pop('clip')


def count(model) -> Dict[str, object]:
    """Return the counts of a built model.

    Args:
        model (nn.Module): The model.

    Returns:
        dict: ``trainable`` (list of ``(name, shape, numel)``),
        ``trainable_params``, ``frozen_params``, ``trainable_fp32_bytes``,
        ``checkpoint_bytes`` and ``checkpoint_keys``.
    """
    import torch
    trainable = [(n, tuple(p.shape), p.numel())
                 for n, p in model.named_parameters() if p.requires_grad]
    n_train = sum(t[2] for t in trainable)
    n_frozen = sum(p.numel() for p in model.parameters()
                   if not p.requires_grad)
    state = model.state_dict()
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return dict(
        trainable=trainable,
        trainable_params=n_train,
        frozen_params=n_frozen,
        trainable_fp32_bytes=4 * n_train,
        checkpoint_bytes=buffer.getbuffer().nbytes,
        checkpoint_keys=sorted(state))


def main(argv: Optional[List[str]] = None) -> Dict[str, object]:
    """Build the model of a config and print its parameter counts.

    Args:
        argv (list[str], optional): Command-line arguments (default:
            ``sys.argv[1:]``).

    Returns:
        dict: The counts (see :func:`count`).
    """
    args = parse_args(argv)
    os.environ.setdefault('HF_HUB_OFFLINE', '1')
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS

    import mpa_fer_plugin  # noqa: F401  (registers the plugin modules)
    from mpa_fer_plugin.models.utils import clear_clip_cache

    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if 'model' not in cfg:
        raise ValueError(f'{args.config} has no `model` dict')
    if args.arch:
        _set_random_arch(cfg.model, args.arch)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    model = MODELS.build(cfg.model)
    clear_clip_cache()
    result = count(model)

    if not args.quiet:
        print('trainable tensors:')
        for name, shape, numel in result['trainable']:
            print(f'  {name:<40} {str(list(shape)):<18} {numel:>12,}')
    print(f'config:                 {args.config}'
          + (f' (--arch {args.arch}, random weights)' if args.arch else ''))
    print(f'trainable parameters:   {result["trainable_params"]:,} '
          f'({result["trainable_params"] / 1e6:.4f} M)')
    print(f'trainable fp32 bytes:   {result["trainable_fp32_bytes"]:,} '
          f'({result["trainable_fp32_bytes"] / 2**20:.4f} MiB, '
          f'{result["trainable_fp32_bytes"] / 1e6:.4f} MB)')
    print(f'frozen parameters:      {result["frozen_params"]:,}')
    print(f'prompt-only checkpoint: {result["checkpoint_bytes"]:,} bytes '
          f'({result["checkpoint_bytes"] / 2**20:.4f} MiB); keys: '
          f'{", ".join(result["checkpoint_keys"])}')
    return result


if __name__ == '__main__':
    main(sys.argv[1:])
