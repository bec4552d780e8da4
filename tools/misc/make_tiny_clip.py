"""Write the tiny demo CLIP architecture with random weights (smoke tests).

The model is built from :data:`TINY_DEMO_CLIP` with a fixed seed, so the
file is identical on every machine; it is written as an open_clip state
dict (``tiny_clip.pth``) plus ``open_clip_config.json`` in the same folder,
so it loads both as ``clip=dict(model_cfg=..., pretrained=FILE)`` and as
``clip=dict(model_name='local-dir:FOLDER')``.

Random weights recognise nothing; the demo uses the same architecture
pretrained by ``tools/misc/pretrain_tiny_clip.py`` (committed under
``configs/demo_assets/tiny_clip``).

Example::

    python tools/misc/make_tiny_clip.py /tmp/random_clip --seed 0
"""
import argparse
import json
import os
import os.path as osp
from typing import List, Optional

import torch

from mpa_fer_plugin.demo.pretrain_tiny_clip import TINY_DEMO_CLIP

__all__ = ['TINY_DEMO_CLIP', 'make_tiny_clip']


def make_tiny_clip(out_dir: str, seed: int = 0) -> str:
    """Build the tiny CLIP with ``seed`` and save it under ``out_dir``.

    Args:
        out_dir (str): Output folder (created if needed).
        seed (int): Seed of the random initialisation. Defaults to ``0``.

    Returns:
        str: Path of the written state-dict file.
    """
    import open_clip
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(seed)
    model = open_clip.model.CLIP(**TINY_DEMO_CLIP)
    path = osp.join(out_dir, 'tiny_clip.pth')
    torch.save(model.state_dict(), path)
    with open(osp.join(out_dir, 'open_clip_config.json'), 'w') as f:
        json.dump({'model_cfg': TINY_DEMO_CLIP, 'preprocess_cfg': {}}, f,
                  indent=2)
    return path


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out_dir', help='output folder')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    print(make_tiny_clip(args.out_dir, args.seed))


if __name__ == '__main__':
    main()
