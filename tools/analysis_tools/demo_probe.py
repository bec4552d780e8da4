"""Probes of the demo world: frozen-CLIP headroom and the CGLA pointing.

Examples::

    # zero-shot (global / with the local branch) and nearest-prototype
    # accuracy of the committed tiny CLIP on the demo world's test split
    python tools/analysis_tools/demo_probe.py world data/demo_world_v2
    # pointing measure of trained runs (several checkpoints = seeds)
    python tools/analysis_tools/demo_probe.py pointing data/demo_world_v2 \\
        --run zero-shot configs/demo_ablation/zsclip.py none \\
        --run MPA-FER configs/mpa_fer_demo.py a/epoch_4.pth b/epoch_4.pth
    # the hard prompts as a teacher (L_t): their accuracy as a classifier,
    # look-alike pair cosines, soft-hard cosine of trained runs
    python tools/analysis_tools/demo_probe.py teacher data/demo_world_v2 \\
        --run MPA-FER configs/mpa_fer_demo.py none a/epoch_4.pth
    # the demo ablation sweep's finished runs, Table 1 steps against the
    # previous step, the other rows against MPA-FER
    python tools/analysis_tools/demo_probe.py table \
        configs/sweeps/demo_ablation.py
"""
import argparse
import json
import os.path as osp
from typing import List, Optional

from mpa_fer_plugin.demo.ablation import sweep_steps_table
from mpa_fer_plugin.demo.probe import (
    pointing_report,
    probe_world,
    teacher_report,
)
from mpa_fer_plugin.utils.tool_utils import (
    add_runtime_args,
    apply_runtime_args,
)

CLIP_DIR = 'configs/demo_assets/tiny_clip'
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def main(argv: Optional[List[str]] = None) -> dict:
    """Run one probe and print its JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('probe',
                        choices=('world', 'pointing', 'teacher', 'table'))
    parser.add_argument('data_root', help='the world (table: the sweep file)')
    parser.add_argument('--clip-dir', default=CLIP_DIR,
                        help=f'tiny CLIP folder (world; default {CLIP_DIR})')
    parser.add_argument('--run', nargs='+', action='append', default=[],
                        metavar='NAME CONFIG CKPT',
                        help='pointing/teacher: a name, a config and '
                        'checkpoints '
                        '("none": the model as built)')
    parser.add_argument('--out', help='also write the JSON here')
    add_runtime_args(parser)
    args = parser.parse_args(argv)
    apply_runtime_args(args)
    if args.probe == 'table':
        table = sweep_steps_table(args.data_root, ROOT)
        print(table)
        if args.out:
            with open(args.out, 'w') as f:
                f.write(table + '\n')
        return {'table': table}
    if args.probe == 'world':
        result = probe_world(args.clip_dir, args.data_root)
    else:
        if not args.run or any(len(r) < 3 for r in args.run):
            parser.error(f'{args.probe} needs --run NAME CONFIG CKPT '
                         '[CKPT ...]')
        report = pointing_report if args.probe == 'pointing' else \
            teacher_report
        result = report(
            {r[0]: (r[1], [None if c == 'none' else c for c in r[2:]])
             for r in args.run}, args.data_root)
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        with open(args.out, 'w') as f:
            f.write(text + '\n')
    return result


if __name__ == '__main__':
    main()
