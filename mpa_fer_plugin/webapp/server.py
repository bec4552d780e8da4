"""The HTTP layer: Python's standard-library server, no other package.

Routes (all answers JSON unless noted):

* ``GET /``: the page (``static/index.html``); ``GET /static/<file>``:
  its script and style sheet, served from the package;
* ``GET /api/models``: the selectable models and the default;
* ``POST /api/models``: ``{"name": ..., "config": ...}`` adds a model by
  name or by checkpoint path (with its config) and builds it;
* ``GET /api/card?model=NAME``: the model card;
* ``POST /api/analyze?model=NAME``: the body is an image file; every face
  with its expression scores;
* ``GET /api/heatmap?id=ID&face=I[&class=C]``: a PNG, the CGLA heatmap of
  face ``I`` of analysed image ``ID``.

Nothing is fetched from anywhere: the page has no external fonts, scripts
or images, so it works on a machine without network.
"""
import json
import mimetypes
import os.path as osp
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, Optional, Tuple
from urllib.parse import parse_qs, urlsplit

from .analysis import MAX_UPLOAD, WebApp, WebError

STATIC_DIR = osp.join(osp.dirname(osp.abspath(__file__)), 'static')
#: The page's own files (nothing else under /static is served).
STATIC_FILES = ('index.html', 'app.js', 'app.css')


class Handler(BaseHTTPRequestHandler):
    """Routes requests to the server's :class:`WebApp`."""

    server_version = 'mpa-fer-web'
    protocol_version = 'HTTP/1.1'

    @property
    def app(self) -> WebApp:
        return self.server.app  # type: ignore[attr-defined]

    # -- responses ------------------------------------------------------
    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header('Content-Type', ctype)
        self.send_header('Content-Length', str(len(body)))
        self.send_header('Cache-Control', 'no-store')
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(body)

    def _json(self, obj: Any, status: int = 200) -> None:
        self._send(status, json.dumps(obj).encode('utf-8'),
                   'application/json; charset=utf-8')

    def _error(self, message: str, status: int) -> None:
        self._json(dict(error=message), status)

    def _query(self) -> Tuple[str, Dict[str, str]]:
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        return parts.path, query

    def _body(self) -> bytes:
        length = int(self.headers.get('Content-Length') or 0)
        if length > MAX_UPLOAD:
            raise WebError(f'the request has {length} bytes; at most '
                           f'{MAX_UPLOAD} are accepted', 413)
        return self.rfile.read(length) if length > 0 else b''

    def _run(self, fn) -> None:
        """Call ``fn()``; turn errors into JSON messages."""
        try:
            fn()
        except WebError as e:
            self._error(str(e), e.status)
        except Exception as e:  # shown on the page, logged here
            traceback.print_exc()
            self._error(f'{type(e).__name__}: {e}', 500)

    # -- routes ---------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self._run(self._get)

    do_HEAD = do_GET

    def do_POST(self) -> None:  # noqa: N802
        self._run(self._post)

    def _get(self) -> None:
        path, query = self._query()
        if path in ('/', '/index.html'):
            return self._static('index.html')
        if path == '/favicon.ico':
            return self._send(204, b'', 'image/x-icon')
        if path.startswith('/static/'):
            return self._static(path[len('/static/'):])
        if path == '/api/models':
            return self._json(self.app.models())
        if path == '/api/card':
            return self._json(self.app.card(query.get('model')))
        if path == '/api/heatmap':
            try:
                face = int(query.get('face', ''))
            except ValueError:
                raise WebError(f"face={query.get('face')!r} is not an "
                               'integer') from None
            png = self.app.heatmap(query.get('id', ''), face,
                                   query.get('class'))
            return self._send(200, png, 'image/png')
        raise WebError(f'no such page: {path}', 404)

    def _post(self) -> None:
        path, query = self._query()
        if path == '/api/analyze':
            return self._json(self.app.analyze(self._body(),
                                               query.get('model')))
        if path == '/api/models':
            try:
                req = json.loads(self._body() or b'{}')
            except ValueError as e:
                raise WebError(f'the request is not JSON: {e}') from None
            if not isinstance(req, dict):
                raise WebError('the request must be a JSON object')
            return self._json(self.app.load(str(req.get('name') or ''),
                                            req.get('config')))
        raise WebError(f'no such page: {path}', 404)

    def _static(self, name: str) -> None:
        if name not in STATIC_FILES:
            raise WebError(f'no such file: {name}', 404)
        with open(osp.join(STATIC_DIR, name), 'rb') as f:
            body = f.read()
        ctype = mimetypes.guess_type(name)[0] or 'application/octet-stream'
        if ctype.startswith('text/') or ctype.endswith('javascript'):
            ctype += '; charset=utf-8'
        self._send(200, body, ctype)

    def log_message(self, format: str, *args: Any) -> None:
        if not getattr(self.server, 'quiet', False):
            super().log_message(format, *args)


def make_server(app: WebApp, host: str = '127.0.0.1', port: int = 7860,
                quiet: bool = False) -> ThreadingHTTPServer:
    """A threaded HTTP server of ``app`` (port 0: any free port).

    Args:
        app (WebApp): What the routes call.
        host (str): Address to bind. Defaults to ``'127.0.0.1'`` (this
            machine only).
        port (int): Port. Defaults to 7860.
        quiet (bool): Do not log requests. Defaults to False.

    Returns:
        ThreadingHTTPServer: Call ``serve_forever()`` (or
        :func:`serve_in_thread`).
    """
    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    server.app = app  # type: ignore[attr-defined]
    server.quiet = quiet  # type: ignore[attr-defined]
    return server


def serve_in_thread(server: ThreadingHTTPServer) -> threading.Thread:
    """Run ``server.serve_forever()`` in a daemon thread."""
    thread = threading.Thread(target=server.serve_forever, daemon=True,
                              name='mpa-fer-web')
    thread.start()
    return thread


def server_url(server: ThreadingHTTPServer,
               host: Optional[str] = None) -> str:
    """The page's address."""
    addr, port = server.server_address[:2]
    return f'http://{host or addr}:{port}/'
