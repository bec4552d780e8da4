"""Fit a calibration temperature on a held-out split; store it in the
checkpoint.

Runs the checkpoint on the config's validation split (``--split val``)
with mmengine's Runner, finds the temperature ``T`` that minimises the
negative log-likelihood of ``softmax(logits / T)``, prints the expected
calibration error before and after, and writes
``meta['calibration'] = {temperature, fitted_on, ece_before, ece_after,
...}`` into the checkpoint (atomically). Every inference path that loads
the checkpoint (``FERPipeline``, ``tools/infer.py``, video, ONNX export)
then reports ``softmax(logits / T)``; the predicted class is unchanged.

The test split is refused, and so is a validation split that shares an
image with the test split (RAF-DB-style configs validate on the test set):
use a config with a held-out part of train, e.g.
``configs/protocols/holdout_demo.py``.

Example::

    python tools/calibrate.py configs/protocols/holdout_demo.py \\
        work_dirs/holdout/epoch_10.pth --split val
"""
import argparse
import json
import os.path as osp
import sys
from typing import List, Optional

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    from mmengine.config import DictAction

    from mpa_fer_plugin.utils.tool_utils import add_runtime_args
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='the config of the checkpoint')
    parser.add_argument('checkpoint', help='the checkpoint to calibrate')
    parser.add_argument('--split', default='val',
                        choices=['val', 'train', 'test'],
                        help='held-out split to fit on (default: val; '
                        'test is refused)')
    parser.add_argument('--num-bins', type=int, default=15,
                        help='ECE bins (default 15)')
    parser.add_argument('--dry-run', action='store_true',
                        help='print the fit, leave the checkpoint as it is')
    parser.add_argument('--out', help='also write the record as JSON')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings (key=value)')
    add_runtime_args(parser)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> dict:
    """Run the tool; return the calibration record."""
    args = parse_args(argv)
    import mpa_fer_plugin  # noqa: F401  (registers parts)
    from mpa_fer_plugin.evaluation.predictions import calibrate_checkpoint
    from mpa_fer_plugin.utils.tool_utils import apply_runtime_args
    apply_runtime_args(args)
    record = calibrate_checkpoint(args.config, args.checkpoint, args.split,
                                  args.cfg_options, args.num_bins,
                                  write=not args.dry_run)
    print(f'temperature T = {record["temperature"]:.4f} fitted on '
          f'{record["fitted_on"]}')
    print(f'ECE ({record["num_bins"]} bins): {record["ece_before"]:.2f}% '
          f'-> {record["ece_after"]:.2f}%; NLL {record["nll_before"]:.4f} '
          f'-> {record["nll_after"]:.4f}')
    print('stored in meta["calibration"] of ' + args.checkpoint
          if not args.dry_run else 'dry run: checkpoint not changed')
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(record, f, indent=2)
    return record


if __name__ == '__main__':
    main()
