"""A scriptable OpenAI-compatible chat server on 127.0.0.1 for the tests.

Kept out of ``conftest.py`` under a unique module name so that test
modules can import it whatever other ``conftest`` modules are loaded.

Each request is answered from a per-class queue of :class:`Reply` objects
(``server.script('Fear', Reply(status=500), ...)``); once a queue is empty,
the server answers with valid JSON descriptions. Every request is recorded
with its class, headers and body so tests can count asks per class.
"""
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Dict, List, Optional, Union

REPO = Path(__file__).resolve().parents[2]
TOOL = REPO / 'tools' / 'generate_descriptions.py'
#: The key the tests use; it must never show up in any output.
SECRET = 'sk-test-9f8e7d6c5b4a-do-not-print'


@dataclass
class Reply:
    """One scripted answer.

    Args:
        status (int): HTTP status. Defaults to ``200``.
        content (str, optional): Assistant message content; ``None`` means
            valid descriptions for the asked class.
        raw (str | bytes, optional): The whole response body, bypassing
            the chat completion envelope (bytes are sent as they are).
        model (str, optional): The served model name in the reply.
        delay (float): Seconds to wait before answering.
        headers (dict): Extra response headers.
        finish_reason (str): ``choices[0].finish_reason``.
    """

    status: int = 200
    content: Optional[str] = None
    raw: Optional[Union[str, bytes]] = None
    model: Optional[str] = None
    delay: float = 0.0
    headers: Dict[str, str] = field(default_factory=dict)
    finish_reason: str = 'stop'


def good_descriptions(cls: str, n: int) -> List[str]:
    """Distinct, short, valid descriptions for ``cls``."""
    return [f'{cls} cue {i}: brows, eyelids and lips in pose {i}'
            for i in range(n)]


class FakeChatServer(ThreadingHTTPServer):
    """The server; see the module docstring."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(('127.0.0.1', 0), _Handler)
        self.requests: List[dict] = []
        self.plan: Dict[str, List[Reply]] = {}
        self.lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f'http://127.0.0.1:{self.server_port}/v1'

    def script(self, cls: str, *replies: Reply) -> None:
        """Queue ``replies`` for the next requests about ``cls``."""
        with self.lock:
            self.plan.setdefault(cls.lower(), []).extend(replies)

    def count(self, cls: str) -> int:
        """Number of requests received about ``cls``."""
        return sum(r['cls'] == cls.lower() for r in self.requests)

    def next_reply(self, cls: str) -> Reply:
        with self.lock:
            queue = self.plan.get(cls, [])
            return queue.pop(0) if queue else Reply()

    def handle_error(self, request, client_address) -> None:
        pass  # clients that timed out hang up; that is expected here


class _Handler(BaseHTTPRequestHandler):

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802 (http.server naming)
        server: FakeChatServer = self.server
        body = json.loads(self.rfile.read(int(self.headers['Content-Length'])))
        user = next(m['content'] for m in body['messages']
                    if m['role'] == 'user')
        match = re.search(r'facial expression of (.+?)\?', user)
        cls = match.group(1) if match else ''
        n = re.search(r'Give (\d+) different', user)
        with server.lock:
            server.requests.append(dict(path=self.path, cls=cls, body=body,
                                        headers={k.lower(): v for k, v in
                                                 self.headers.items()}))
        reply = server.next_reply(cls)
        time.sleep(reply.delay)
        if reply.raw is not None:
            payload = reply.raw
        elif reply.status != 200:
            payload = json.dumps({'error': {
                'message': reply.content or f'scripted {reply.status}',
                'type': 'server_error', 'code': None}})
        else:
            content = reply.content
            if content is None:
                content = json.dumps({'descriptions': good_descriptions(
                    cls, int(n.group(1)) if n else 5)})
            payload = json.dumps({
                'id': 'fake-1', 'object': 'chat.completion', 'created': 0,
                'model': reply.model or body['model'] + '-served',
                'choices': [{'index': 0, 'finish_reason': reply.finish_reason,
                             'message': {'role': 'assistant',
                                         'content': content}}],
                'usage': {'prompt_tokens': 1, 'completion_tokens': 1,
                          'total_tokens': 2}})
        data = payload if isinstance(payload, bytes) else payload.encode()
        try:
            self.send_response(reply.status)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(data)))
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass  # the client gave up (timeout test)
