"""The page in a real headless browser: Debian's Chromium via Playwright.

Against the local server of ``conftest.web_server``: the page loads; the
uploaded drawn scene yields the faces, labels and scores that
``FERPipeline`` gives for the same image and model; the published demo
prompt pack, loaded by its model-index name, re-analyses the image as
``FERPipeline`` does with that pack; the model cards and the demo-domain
banner are shown; a picked face shows its heatmap; the webcam path
(Chromium's fake camera playing the same scene; one frame, then Live)
finds the faces; and no request leaves 127.0.0.1. A screenshot is written
to the path in ``MPA_FER_WEB_SCREENSHOT`` (docs/images/web_demo.png is
made that way), else to the test's temporary folder.

No browser is downloaded: Playwright starts ``/usr/bin/chromium``
(``apt-get install chromium chromium-driver``; .ci/run does).
"""
import os
import os.path as osp

import cv2
import numpy as np
import pytest

from mpa_fer_plugin.apis.face import match_boxes

CHROMIUM = os.environ.get('MPA_FER_CHROMIUM', '/usr/bin/chromium')
#: The flags this machine needs; a fresh --user-data-dir is added.
FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
         '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync']

if not (osp.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
    pytest.skip(f'no Chromium at {CHROMIUM} (Debian: apt-get install -y '
                'chromium chromium-driver; .ci/run installs it)',
                allow_module_level=True)
sync_api = pytest.importorskip(
    'playwright.sync_api',
    reason='playwright is not installed (pip install -r '
    'requirements/web.txt)')


def write_y4m(path: str, image: np.ndarray, frames: int = 5) -> None:
    """A still video (YUV4MPEG2, 4:2:0) for Chromium's fake camera."""
    h, w = image.shape[:2]
    yuv = cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420).tobytes()
    with open(path, 'wb') as f:
        f.write(f'YUV4MPEG2 W{w} H{h} F5:1 Ip A1:1 C420jpeg\n'.encode())
        for _ in range(frames):
            f.write(b'FRAME\n' + yuv)


@pytest.fixture(scope='module')
def browser(tmp_path_factory, drawn_scene):
    folder = tmp_path_factory.mktemp('chromium')
    video = str(folder / 'camera.y4m')
    write_y4m(video, drawn_scene['image'])
    # headless=True makes Playwright pass --headless itself.
    args = [f for f in FLAGS if f != '--headless'] + [
        '--use-fake-ui-for-media-stream',
        '--use-fake-device-for-media-stream',
        f'--use-file-for-fake-video-capture={video}']
    with sync_api.sync_playwright() as pw:
        # A persistent context: Playwright passes our fresh folder as
        # --user-data-dir (launch() would make its own).
        context = pw.chromium.launch_persistent_context(
            str(folder / 'profile'), executable_path=CHROMIUM,
            headless=True, args=args,
            viewport={'width': 1400, 'height': 1000})
        yield context
        context.close()


def _faces(page):
    """Per face card: index, predicted class and the bars' scores."""
    return page.eval_on_selector_all('.face', """cards => cards.map(c => ({
        index: Number(c.dataset.index), pred: c.dataset.pred,
        scores: Object.fromEntries([...c.querySelectorAll('.bar-row')]
            .map(r => [r.dataset.class, Number(r.dataset.score)]))}))""")


def _card(page):
    """The model card table as ``{row key: text}``."""
    return dict(page.eval_on_selector_all(
        '#card tr', 'rows => rows.map(r => [r.dataset.key, '
        'r.querySelector("td").textContent])'))


def _boxes(page):
    return page.eval_on_selector_all('#boxes rect', """rs => rs.map(r =>
        ['x', 'y', 'width', 'height'].map(k => Number(r.getAttribute(k))))""")


def test_upload_pick_card_webcam(browser, web_server, web_registry,
                                 drawn_scene, tmp_path):
    page = browser.new_page()
    outside, errors = [], []
    page.on('request', lambda r: outside.append(r.url) if not r.url.startswith(
        (web_server, 'data:', 'blob:')) else None)
    page.on('pageerror', lambda e: errors.append(str(e)))
    page.goto(web_server)
    page.wait_for_selector('body[data-state=ready]', timeout=60_000)
    assert page.title().startswith('MPA-FER')
    assert page.input_value('#model') == 'zero-shot-demo'

    # Upload: the faces, labels and scores FERPipeline gives.
    page.set_input_files('#file', drawn_scene['path'])
    page.wait_for_selector('#heatmap:not([hidden])', timeout=60_000)
    page.wait_for_selector('body[data-state=ready]', timeout=60_000)
    assert page.get_attribute('body', 'data-analyses') == '1'
    expected = web_registry.pipeline('zero-shot-demo').predict(
        drawn_scene['image'])
    faces = _faces(page)
    assert len(faces) == len(expected) == 3
    for face, exp in zip(faces, expected):
        assert face['pred'] == exp['pred_class']
        assert face['scores'] == pytest.approx(exp['scores'], abs=1e-5)
    xywh = np.array(_boxes(page))
    boxes = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], 1)
    np.testing.assert_allclose(boxes, [e['box'] for e in expected],
                               atol=0.01)
    assert None not in match_boxes(boxes, drawn_scene['truth'], 0.5)
    assert '3 face(s) with zero-shot-demo' in page.inner_text('#status')

    assert _card(page)['kind'] == 'zero-shot'

    # Load the published prompt pack by name (weights checked against the
    # index's SHA-256): the same image, re-analysed as FERPipeline does.
    name = 'mpa-fer_tiny-clip_demo'
    page.fill('#load-name', name)
    page.click('#load-button')
    page.wait_for_function(
        "() => document.body.dataset.analyses === '2' && "
        "document.body.dataset.state === 'ready'", timeout=60_000)
    assert page.input_value('#model') == name
    expected = web_registry.pipeline(name).predict(drawn_scene['image'])
    faces = _faces(page)
    assert [f['pred'] for f in faces] == [e['pred_class'] for e in expected]
    for face, exp in zip(faces, expected):
        assert face['scores'] == pytest.approx(exp['scores'], abs=1e-5)
    card = _card(page)
    assert card['kind'] == 'prompt-tuned'
    assert card['domain'] == 'synthetic-drawn-faces'
    assert page.is_visible('#warning')
    assert 'demo world' in page.inner_text('#warning')

    # Pick face 3 (its box): its heatmap.
    page.click('#boxes rect[data-index="2"]')
    page.wait_for_function(
        "() => { const i = document.getElementById('heatmap'); return "
        "i.dataset.face === '2' && !i.hidden && i.complete && "
        "i.naturalWidth >= 256 && document.getElementById('heat-note')"
        ".textContent.startsWith('Face 3, class'); }", timeout=60_000)
    assert page.get_attribute('.face[data-index="2"]', 'class') == \
        'face selected'
    shot = os.environ.get('MPA_FER_WEB_SCREENSHOT') or str(
        tmp_path / 'web_demo.png')
    os.makedirs(osp.dirname(osp.abspath(shot)), exist_ok=True)
    page.screenshot(path=shot, full_page=True)
    assert cv2.imread(shot) is not None

    # Webcam: Chromium's fake camera plays the same scene.
    page.click('#webcam-start')
    page.wait_for_function(
        "() => document.getElementById('video').videoWidth === 480",
        timeout=30_000)
    page.click('#webcam-capture')
    page.wait_for_function(
        "() => document.body.dataset.analyses === '3' && "
        "document.body.dataset.state === 'ready'", timeout=60_000)
    assert f'face(s) with {name}' in page.inner_text('#status')
    cam = np.array(_boxes(page)).reshape(-1, 4)
    cam = np.concatenate([cam[:, :2], cam[:, :2] + cam[:, 2:]], 1)
    assert len(cam) == 3
    assert None not in match_boxes(cam, drawn_scene['truth'], 0.5)
    # Live: frame after frame until unticked.
    page.check('#webcam-live')
    page.wait_for_function(
        '() => Number(document.body.dataset.analyses) >= 5', timeout=60_000)
    page.uncheck('#webcam-live')
    page.wait_for_function(
        "() => document.body.dataset.state === 'ready'", timeout=60_000)
    assert len(_faces(page)) == 3
    page.click('#webcam-stop')
    assert page.is_hidden('#video')

    assert outside == [] and errors == []
    page.close()

