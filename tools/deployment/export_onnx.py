"""Export an MPA-FER checkpoint to ONNX and check it with onnxruntime.

The graph is the prompted image tower plus CGLA scoring; the encoded soft
prompts are baked in as constants, so no text tower is exported.

* Input ``image``: float32 ``[B, 3, H, W]`` at the model's input size
  (after resize and crop). ``--input-format rgb255`` (default): RGB in
  0..255, normalised inside the graph with the config's mean/std;
  ``normalized``: the already normalised tensor.
* Outputs ``logits`` ``[B, C]`` (``model(x, mode='tensor')``) and
  ``scores`` ``[B, C]`` (softmax, mmpretrain's ``pred_score``), classes in
  the config's ``head.classnames`` order. The batch axis is dynamic.

``--int8`` also writes an int8 dynamically quantised copy
(``onnxruntime.quantization.quantize_dynamic``; ``<out>.int8.onnx`` unless
``--int8-out``) and reports its agreement with PyTorch.

Needs ``pip install 'mpa_fer_plugin[export]'`` (onnx, onnxruntime). Uses
torch's TorchScript-based exporter (``dynamo=False``), opset 17 by default.

Example::

    python tools/deployment/export_onnx.py configs/mpa_fer_demo.py \\
        work_dirs/demo/epoch_6.pth --out mpa_fer_demo.onnx --int8
"""
import argparse
import json
import os.path as osp
import sys
import warnings
from typing import List, Optional

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    from mmengine.config import DictAction

    from mpa_fer_plugin.apis.export import DEFAULT_OPSET, INPUT_FORMATS
    from mpa_fer_plugin.utils.tool_utils import add_runtime_args
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='the config file')
    parser.add_argument('checkpoint', help='the (prompt-only) checkpoint')
    parser.add_argument('--out', required=True, help='the .onnx file')
    parser.add_argument('--input-format', choices=INPUT_FORMATS,
                        default='rgb255',
                        help='rgb255: RGB 0-255, normalised in the graph '
                        '(default); normalized: (x - mean) / std')
    parser.add_argument('--opset', type=int, default=DEFAULT_OPSET)
    parser.add_argument('--no-verify', action='store_true',
                        help='skip the onnxruntime parity check')
    parser.add_argument('--atol', type=float, default=1e-3,
                        help='largest accepted |logit| difference')
    parser.add_argument('--int8', action='store_true',
                        help='also write an int8 dynamically quantised '
                        'model')
    parser.add_argument('--int8-out', default=None,
                        help='the int8 .onnx file (default: <out stem>'
                        '.int8.onnx)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings (key=value)')
    add_runtime_args(parser)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> dict:
    """Export (and check); return the parity numbers (empty if skipped)."""
    args = parse_args(argv)
    from mpa_fer_plugin.utils.tool_utils import apply_runtime_args
    apply_runtime_args(args)
    warnings.filterwarnings('ignore', message='.*MultiScaleDeformable.*')
    from mpa_fer_plugin.apis import (
        check_onnx_parity,
        export_onnx,
        init_mpa_model,
        quantize_onnx,
    )
    model = init_mpa_model(args.config, args.checkpoint,
                           cfg_options=args.cfg_options)
    export_onnx(model, args.out, input_format=args.input_format,
                opset=args.opset)
    report = {}
    if not args.no_verify:
        report = check_onnx_parity(model, args.out,
                                   input_format=args.input_format)
        print(json.dumps(report), flush=True)
        if report['max_abs_diff_logits'] > args.atol:
            raise RuntimeError(
                f'ONNX and PyTorch logits differ by '
                f"{report['max_abs_diff_logits']:.3g} > --atol {args.atol} "
                f'for {args.out}')
    written = [args.out]
    if args.int8:
        int8_out = args.int8_out or osp.splitext(args.out)[0] + '.int8.onnx'
        quantize_onnx(args.out, int8_out)
        written.append(int8_out)
        if not args.no_verify:
            # Quantisation changes the logits by design: reported, not
            # checked against --atol.
            report['int8'] = check_onnx_parity(
                model, int8_out, input_format=args.input_format,
                batch_size=8)
            print(json.dumps({'int8': report['int8']}), flush=True)
    print(f'classes (output order): {list(model.head.classnames)}')
    print(f'wrote {", ".join(written)}', flush=True)
    return report


if __name__ == '__main__':
    main()
