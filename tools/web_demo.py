"""Serve the web page: photo or webcam in, every face's expressions out.

The page (mpa_fer_plugin.webapp) runs on Python's standard-library HTTP
server and fetches nothing from the network. Models to switch between:

* ``--config C [--checkpoint K]``: your model (listed first, the default);
* ``--model NAME`` (repeatable): ``demo`` (the checkpoint ``make demo``
  trained), ``zero-shot-demo`` (the committed tiny demo CLIP, nothing
  trained) or a name of the model index (model-index.yml); with no model
  named, these two and the index's usable models are listed;
* on the page: a checkpoint path with its config.

The demo models were made on drawn faces; on real photographs their labels
are not predictions (the page says so).

Examples::

    python tools/web_demo.py
    python tools/web_demo.py --config configs/mpa_fer_demo.py \\
        --checkpoint work_dirs/demo/epoch_10.pth --port 8080
"""
import argparse
import os
import os.path as osp
import sys
from typing import List, Optional

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', help='config of your model')
    parser.add_argument('--checkpoint',
                        help='checkpoint of --config (omit: no training)')
    parser.add_argument('--model', action='append', default=[],
                        metavar='NAME',
                        help='a model by name: demo, zero-shot-demo or a '
                        'model-index name (repeatable)')
    parser.add_argument('--detector', default='auto',
                        help='face detector: auto (default: yuface where '
                        'installed, else haar), yuface, haar, mtcnn')
    parser.add_argument('--device', default='cpu', help='torch device')
    parser.add_argument('--host', default='127.0.0.1',
                        help='address to bind (default 127.0.0.1: this '
                        'machine only)')
    parser.add_argument('--port', type=int, default=7860,
                        help='port (default 7860; 0: any free port)')
    parser.add_argument('--allow-load', action='store_true',
                        help='let the page load models by name or path '
                        'also when --host is not this machine (a config '
                        'file is Python that runs)')
    parser.add_argument('--preload', action='store_true',
                        help='build the default model before serving')
    parser.add_argument('--quiet', action='store_true',
                        help='do not log every request')
    args = parser.parse_args(argv)
    if args.checkpoint and not args.config:
        parser.error('--checkpoint needs --config (the config it was '
                     'trained with)')
    return args


def build_registry(args: argparse.Namespace):
    """The models the command line names, in selector order."""
    from mpa_fer_plugin.webapp import (
        ModelRegistry,
        builtin_entries,
        entry_from_paths,
        index_entries,
    )
    entries = []
    if args.config:
        entries.append(entry_from_paths(args.checkpoint, args.config))
    builtins = {e.name: e for e in builtin_entries()}
    for name in args.model:
        try:
            entries += ([builtins[name]] if name in builtins else
                        index_entries([name]))
        except KeyError as e:
            raise SystemExit(f'--model {name}: {e.args[0]} (or one of '
                             f'{", ".join(builtins)})') from None
    if not args.config and not args.model:
        entries += list(builtins.values())
        # The index's usable models, less those listed already.
        known = {(e.config, e.checkpoint) for e in entries}
        entries += [e for e in index_entries()
                    if (e.config, None) not in known]
    return ModelRegistry(entries, detector=args.detector,
                         device=args.device)


def main(argv: Optional[List[str]] = None) -> None:
    """Serve the page until Ctrl+C."""
    args = parse_args(argv)
    os.environ.setdefault('HF_HUB_OFFLINE', '1')
    from mpa_fer_plugin.webapp import WebApp, make_server, server_url
    registry = build_registry(args)
    local = args.host in ('127.0.0.1', 'localhost', '::1')
    app = WebApp(registry, allow_load=local or args.allow_load)
    if args.preload and registry.default:
        registry.pipeline()
    server = make_server(app, args.host, args.port, quiet=args.quiet)
    for entry in registry.entries.values():
        print(f'model {entry.name}: {entry.error or entry.label}')
    if not app.allow_load:
        print('loading models from the page is off (--allow-load)')
    print(f'serving on {server_url(server)} (Ctrl+C to stop)', flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == '__main__':
    main()
