"""FLOPs of a config's model at its real input size (one image).

Unlike mmpretrain's ``get_flops.py`` (224 px unless ``--shape``; no
attention counted), the input size is read from the CLIP image tower
(64 px for ``configs/mpa_fer_demo.py``, 224 for the paper configs) and
attention is counted; see :mod:`mpa_fer_plugin.utils.flops`. Example::

    python tools/analysis_tools/get_flops.py configs/mpa_fer_demo.py
    python tools/analysis_tools/get_flops.py configs/mpa_fer_rafdb.py \\
        --random-weights

``--random-weights`` builds the CLIP without its weight file (FLOPs do not
depend on the weights).
"""
import argparse
import os
import os.path as osp
import sys
from typing import Dict, List, Optional

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    from mmengine.config import DictAction

    from mpa_fer_plugin.utils.tool_utils import add_runtime_args
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config file (with a `model` dict)')
    parser.add_argument('--shape', type=int, nargs='+', default=None,
                        help='input size H [W] (default: the CLIP image '
                        "tower's)")
    parser.add_argument('--random-weights', action='store_true',
                        help='build the CLIP with random weights (no weight '
                        'file needed; FLOPs do not depend on them)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings (key=value)')
    add_runtime_args(parser)
    args = parser.parse_args(argv)
    if args.shape is not None and len(args.shape) not in (1, 2):
        parser.error('--shape takes H or H W')
    return args


def main(argv: Optional[List[str]] = None) -> Dict[str, object]:
    """Print the FLOPs of the config's model; return them."""
    args = parse_args(argv)
    os.environ.setdefault('HF_HUB_OFFLINE', '1')
    from mpa_fer_plugin.utils.flops import config_flops
    from mpa_fer_plugin.utils.tool_utils import apply_runtime_args
    apply_runtime_args(args)
    shape = None
    if args.shape is not None:
        shape = args.shape * 2 if len(args.shape) == 1 else args.shape
    res = config_flops(args.config, shape, args.random_weights,
                       args.cfg_options)
    c, h, w = res['input_shape']
    print(f'config:            {args.config}'
          + (' (random CLIP weights)' if args.random_weights else ''))
    print(f'input shape:       {c}x{h}x{w} (one image)')
    print(f'FLOPs per image:   {res["flops"] / 1e9:.3f} G '
          '(image tower + CGLA; text features cached)')
    if res['text_flops'] is not None:
        print(f'text prompts once: {res["text_flops"] / 1e9:.3f} G '
              '(all classes; recomputed each training step)')
    print(f'parameters:        {res["params"] / 1e6:.2f} M '
          f'({res["trainable_params"]:,} trainable)')
    print(f'activations:       {res["activations"] / 1e6:.2f} M')
    if res['unsupported_ops']:
        ops = ', '.join(f'{k[6:] if k.startswith("aten::") else k}'
                        for k in sorted(res['unsupported_ops']))
        print(f'not counted (element-wise / reductions): {ops}')
    print('FLOPs: fvcore convention (1 multiply-add = 1 FLOP), '
          "mmengine's FlopAnalyzer")
    return res


if __name__ == '__main__':
    main()
