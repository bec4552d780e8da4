"""A local web page over :class:`~mpa_fer_plugin.apis.face.FERPipeline`.

Upload a photo or use the webcam, see every face with its expression
bars, pick a face for its CGLA heatmap, switch models and read the model
card. The server is Python's standard library (:mod:`http.server`) and
the page has no external asset, so it works offline. Start it with
``python tools/web_demo.py``.
"""
from .analysis import WebApp, WebError, decode_image
from .cards import domain_warning, model_card
from .models import (
    ModelEntry,
    ModelRegistry,
    builtin_entries,
    demo_checkpoint,
    entry_from_paths,
    index_entries,
)
from .server import make_server, serve_in_thread, server_url

__all__ = [
    'WebApp', 'WebError', 'decode_image', 'model_card', 'domain_warning',
    'ModelEntry', 'ModelRegistry', 'builtin_entries', 'demo_checkpoint',
    'entry_from_paths', 'index_entries', 'make_server', 'serve_in_thread',
    'server_url'
]
