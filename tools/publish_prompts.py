"""Publish a trained checkpoint as a prompt pack and list it in the index.

Writes ``{name}-{first 8 hex of its sha256}.pth`` into ``--out-dir``: the
prompts (the frozen CLIP is never saved) and ``meta`` (classes, model card,
calibration) without the optimizer and training state. With
``--metafile`` the row ``name`` of that metafile gets the file as
``Weights`` (``--url`` if the file will be uploaded, else its path
relative to the repository root), its SHA256 and the card's metrics as
``Results``; ``--render-docs`` rewrites the model table of a docs page
from the model index.

Examples::

    python tools/publish_prompts.py work_dirs/demo/epoch_10.pth \\
        mpa-fer_tiny-clip_demo --out-dir configs/demo_assets \\
        --metafile configs/mpa_fer/metafile.yml \\
        --render-docs docs/model_zoo.md
    python tools/publish_prompts.py --render-docs docs/model_zoo.md
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('checkpoint', nargs='?',
                        help='the trained checkpoint')
    parser.add_argument('name', nargs='?',
                        help='model name, e.g. mpa-fer_vit-b16_rafdb')
    parser.add_argument('--out-dir', default='work_dirs/published',
                        help='where to write the pack')
    parser.add_argument('--config', help='its config (builds a model card '
                        'for a checkpoint saved without one)')
    parser.add_argument('--metafile', help='fill in the row NAME of this '
                        'metafile (Weights, SHA256, Results)')
    parser.add_argument('--url', help='the URL the pack will be uploaded '
                        'to (the Weights of the metafile row)')
    parser.add_argument('--render-docs', metavar='PAGE',
                        help='rewrite the model table of this docs page '
                        'from the model index')
    parser.add_argument('--index', help='the model index (default: '
                        'model-index.yml of the repository)')
    args = parser.parse_args(argv)
    if args.checkpoint is not None and args.name is None:
        parser.error('give the checkpoint and the model name')
    if args.checkpoint is None and not args.render_docs:
        parser.error('nothing to do: give a checkpoint and a name, or '
                     '--render-docs')
    return args


def main(argv: Optional[List[str]] = None) -> Optional[dict]:
    """Run the tool; return the :func:`publish_prompts` record (if any)."""
    args = parse_args(argv)
    from mpa_fer_plugin.apis.model_metafile import (
        card_results,
        update_metafile,
        write_docs_table,
    )
    from mpa_fer_plugin.apis.model_zoo import REPO_ROOT, publish_prompts
    record = None
    if args.checkpoint is not None:
        record = publish_prompts(args.checkpoint, args.name, args.out_dir,
                                 config=args.config)
        print(f"published {record['path']} ({record['bytes']} bytes, "
              f"sha256 {record['sha256']})", flush=True)
        if args.metafile:
            weights = args.url or osp.relpath(osp.abspath(record['path']),
                                              REPO_ROOT)
            update_metafile(args.metafile, args.name, weights,
                            record['sha256'],
                            card_results(record['model_card']) or None)
            print(f'{args.metafile}: row {args.name} updated', flush=True)
    if args.render_docs:
        write_docs_table(args.render_docs, args.index)
        print(f'{args.render_docs}: model table rewritten', flush=True)
    return record


if __name__ == '__main__':
    main()
