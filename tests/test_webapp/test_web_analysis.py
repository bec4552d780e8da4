"""webapp/analysis.py: uploads in, the pipeline's faces out, heatmaps."""
import base64

import cv2
import numpy as np
import pytest

from mpa_fer_plugin.apis.face import match_boxes
from mpa_fer_plugin.webapp import WebError, decode_image
from mpa_fer_plugin.webapp import analysis as web_analysis

PNG = b'\x89PNG\r\n\x1a\n'


def test_decode_image_refuses_bad_uploads(monkeypatch):
    with pytest.raises(WebError, match='empty'):
        decode_image(b'')
    with pytest.raises(WebError, match=r'\(9 bytes\) is not an image'):
        decode_image(b'not a png')
    ok, buf = cv2.imencode('.png', np.zeros((4, 6, 3), np.uint8))
    assert decode_image(buf.tobytes()).shape == (4, 6, 3)
    monkeypatch.setattr(web_analysis, 'MAX_PIXELS', 20)
    with pytest.raises(WebError, match='6x4') as info:
        decode_image(buf.tobytes())
    assert info.value.status == 413


def test_analyze_equals_the_pipeline(web_app, web_registry, drawn_scene):
    result = web_app.analyze(drawn_scene['png'], 'zero-shot-demo')
    expected = web_registry.pipeline('zero-shot-demo').predict(
        drawn_scene['image'])
    assert result['model'] == 'zero-shot-demo'
    assert (result['width'], result['height']) == (480, 300)
    assert len(result['faces']) == len(expected) == 3
    boxes = np.array([f['box'] for f in result['faces']])
    assert None not in match_boxes(boxes, drawn_scene['truth'], 0.5)
    for face, exp in zip(result['faces'], expected):
        assert face['box'] == exp['box']
        assert face['pred_class'] == exp['pred_class']
        assert face['scores'] == pytest.approx(exp['scores'], abs=1e-6)
        assert face['crop'].startswith('data:image/png;base64,')
        crop = base64.b64decode(face['crop'].split(',', 1)[1])
        assert crop.startswith(PNG)
    assert 'demo world' in result['warning']  # the card's domain


def test_heatmap_of_a_picked_face(web_app, drawn_scene):
    result = web_app.analyze(drawn_scene['png'], None)
    png = web_app.heatmap(result['id'], 2, 'Happiness')
    assert png.startswith(PNG)
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    assert min(image.shape[:2]) >= 256
    with pytest.raises(WebError, match='face 3 does not exist'):
        web_app.heatmap(result['id'], 3)
    with pytest.raises(WebError, match="unknown class 'Joy'"):
        web_app.heatmap(result['id'], 0, 'Joy')
    with pytest.raises(WebError, match='upload it again') as info:
        web_app.heatmap('0' * 32, 0)
    assert info.value.status == 404


def test_card_and_unknown_model(web_app):
    got = web_app.card('zero-shot-demo')
    assert got['card']['kind'] == 'zero-shot'
    assert got['warning']
    with pytest.raises(WebError, match="unknown model 'nope'") as info:
        web_app.card('nope')
    assert info.value.status == 404
    with pytest.raises(WebError, match='give a model name'):
        web_app.load('  ')


def test_loading_from_the_page_can_be_off(web_registry):
    from mpa_fer_plugin.webapp import WebApp
    app = WebApp(web_registry, allow_load=False)
    assert app.models()['allow_load'] is False
    with pytest.raises(WebError, match='--allow-load') as info:
        app.load('zero-shot-demo')
    assert info.value.status == 403
