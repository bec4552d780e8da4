"""webapp/server.py: routes, static files, errors as JSON (urllib)."""
import json
import os.path as osp
import re
import sys
import urllib.error
import urllib.request

import pytest

from mpa_fer_plugin.webapp.server import STATIC_DIR, STATIC_FILES

sys.path.insert(0, osp.join(osp.dirname(osp.dirname(__file__)), 'test_tools'))
from tool_loader import load_tool  # noqa: E402

#: No proxy: the server is on 127.0.0.1 whatever http_proxy says.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _get(url, data=None, ctype=None):
    req = urllib.request.Request(url, data=data)
    if ctype:
        req.add_header('Content-Type', ctype)
    try:
        with OPENER.open(req, timeout=60) as res:
            return res.status, res.headers['Content-Type'], res.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers['Content-Type'], e.read()


def test_static_files_fetch_nothing_from_outside():
    for name in STATIC_FILES:
        text = open(f'{STATIC_DIR}/{name}', encoding='utf-8').read()
        urls = re.findall(r'(?:https?:)?//[\w.-]+\.[a-z]{2,}[^\s\'")]*', text)
        assert set(urls) <= {'http://www.w3.org/2000/svg'}, (name, urls)
        assert '@import' not in text and 'url(' not in text


def test_page_and_static(web_server):
    status, ctype, body = _get(web_server)
    assert status == 200 and ctype.startswith('text/html')
    assert b'id="model"' in body and b'/static/app.js' in body
    status, ctype, _ = _get(web_server + 'static/app.js')
    assert status == 200 and 'javascript' in ctype
    status, _, body = _get(web_server + 'static/../server.py')
    assert status == 404 and b'error' in body


def test_api_round_trip(web_server, drawn_scene):
    status, _, body = _get(web_server + 'api/models')
    models = json.loads(body)
    assert status == 200 and models['default'] == 'zero-shot-demo'
    status, _, body = _get(web_server + 'api/analyze?model=zero-shot-demo',
                           drawn_scene['png'], 'image/png')
    result = json.loads(body)
    assert status == 200 and len(result['faces']) == 3
    status, ctype, body = _get(
        web_server + f"api/heatmap?id={result['id']}&face=1")
    assert status == 200 and ctype == 'image/png'
    status, _, body = _get(web_server + 'api/card?model=zero-shot-demo')
    assert json.loads(body)['card']['domain'] == 'synthetic-drawn-faces'


@pytest.mark.parametrize('path,data,status,message', [
    ('api/analyze', b'garbage', 400, 'is not an image'),
    ('api/analyze?model=nope', b'x', 404, "unknown model 'nope'"),
    ('api/heatmap?id=x&face=a', None, 400, "face='a' is not an integer"),
    ('api/models', b'[1]', 400, 'must be a JSON object'),
    ('api/models', b'{"name": "no-such-model"}', 400, 'neither a listed'),
    ('api/nothing', None, 404, 'no such page'),
])
def test_errors_are_json_messages(web_server, path, data, status, message):
    got, ctype, body = _get(web_server + path, data)
    assert got == status and ctype.startswith('application/json')
    assert message in json.loads(body)['error']


def test_tool_arguments():
    web_demo = load_tool('web_demo.py')
    args = web_demo.parse_args(['--model', 'demo', '--port', '0'])
    assert (args.host, args.port, args.model) == ('127.0.0.1', 0, ['demo'])
    with pytest.raises(SystemExit):
        web_demo.parse_args(['--checkpoint', 'a.pth'])
    # Default models: the two built-in ones and the index's usable ones,
    # without the index's copy of zero-shot-demo.
    names = list(web_demo.build_registry(web_demo.parse_args([])).entries)
    assert 'zero-shot-demo' in names and 'demo' in names
    assert 'zero-shot_tiny-clip_demo' not in names
    assert 'zero-shot_tiny-clip_demo_descriptions' in names
    with pytest.raises(SystemExit, match='--model nope'):
        web_demo.build_registry(web_demo.parse_args(['--model', 'nope']))
