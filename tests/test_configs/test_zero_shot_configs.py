"""configs/zero_shot: tools/infer.py, tools/infer_video.py and FERPipeline
with the demo's tiny CLIP; the open_clip tag fails offline."""
import json
import os.path as osp
import sys

import cv2
import numpy as np
import pytest
import torch

sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.abspath(
    __file__))), 'test_apis'))
from mpa_world import ROOT, load_tool  # noqa: E402

ZS = osp.join(ROOT, 'configs', 'zero_shot')
TEMPLATE = osp.join(ZS, 'zsclip_tiny_demo.py')
DESCRIPTIONS = osp.join(ZS, 'zsclip_tiny_demo_descriptions.py')


@pytest.fixture(scope='module')
def portrait(tmp_path_factory):
    from skimage import data
    folder = tmp_path_factory.mktemp('zs_photo')
    img = cv2.resize(np.ascontiguousarray(data.astronaut()[..., ::-1]),
                     (256, 256), interpolation=cv2.INTER_AREA)
    path = folder / 'astronaut.jpg'
    cv2.imwrite(str(path), img)
    return str(path)


@pytest.fixture(scope='module')
def pipes():
    from mpa_fer_plugin.apis.face import FERPipeline
    return {c: FERPipeline(c, detector='haar')
            for c in (TEMPLATE, DESCRIPTIONS)}


def test_zero_shot_pipeline(pipes, portrait):
    from mpa_fer_plugin.apis.model_card import DemoDomainWarning
    template, descriptions = pipes[TEMPLATE], pipes[DESCRIPTIONS]
    # nothing learned: no context vectors, no visual prompts
    for pipe in (template, descriptions):
        assert pipe.model.head.prompt_learner.ctx is None
        assert pipe.model_card['kind'] == 'zero-shot'
        info = pipe.describe()
        assert info['model'].startswith('DEMO') and \
            'ZERO-SHOT' in info['model']
    with pytest.warns(DemoDomainWarning, match='synthetic-drawn-faces'):
        faces = template.predict(portrait)
    assert len(faces) == 1
    assert sum(faces[0]['scores'].values()) == pytest.approx(1, abs=1e-5)
    assert 'ZERO-SHOT' in faces[0]['model']
    # the two classifiers: other text features, other scores
    assert not torch.allclose(template.model.head.text_features(),
                              descriptions.model.head.text_features())
    texts = descriptions.model.head.prompt_texts
    assert len(texts) == 7 and all(len(t) == 2 for t in texts)
    assert texts[0][0].startswith(
        'a photo of a person making a facial expression of anger, ')
    assert template.model.head.prompt_texts[0] == ['a photo of a Anger.']


def test_zero_shot_infer_tool(portrait, tmp_path, capsys):
    infer = load_tool('infer.py')
    out = tmp_path / 'zs.json'
    results = infer.main([portrait, DESCRIPTIONS, '--out', str(out),
                          '--show-dir', str(tmp_path / 'show'),
                          '--detector', 'haar'])
    saved = json.loads(out.read_text())
    assert saved == results
    card = saved[0]['model_card']
    assert card['kind'] == 'zero-shot' and card['training']['dataset'] is None
    assert 'ensemble of descriptions' in card['method']
    assert 'ZERO-SHOT' in saved[0]['model']
    assert 'model: DEMO (drawn faces only): ZERO-SHOT' in \
        capsys.readouterr().out
    drawn = cv2.imread(str(tmp_path / 'show' / 'astronaut.png'))
    assert drawn.shape[0] > drawn.shape[1]  # the strip under the drawing


def test_zero_shot_infer_video_tool(tmp_path):
    from skimage import data

    from mpa_fer_plugin.apis.face import write_video
    infer_video = load_tool('infer_video.py')
    img = cv2.resize(np.ascontiguousarray(data.astronaut()[..., ::-1]),
                     (256, 256), interpolation=cv2.INTER_AREA)
    video = write_video(str(tmp_path / 'v.avi'), [img] * 3, fps=5)
    summary = infer_video.main([
        video, TEMPLATE, '--out-summary', str(tmp_path / 's.json'),
        '--detector', 'haar', '--threads', '1'])
    assert summary['frames'] == 3
    saved = json.loads((tmp_path / 's.json').read_text())
    assert saved['model_card']['kind'] == 'zero-shot'


def test_untrained_config_needs_a_checkpoint(portrait):
    infer = load_tool('infer.py')
    with pytest.raises(ValueError, match='no checkpoint was given'):
        infer.main([portrait, osp.join(ROOT, 'configs', 'mpa_fer_demo.py')])


def test_open_clip_tag_fails_offline(monkeypatch):
    from mpa_fer_plugin.apis import init_mpa_model
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    with pytest.raises(RuntimeError) as err:
        init_mpa_model(osp.join(ZS, 'zsclip_vit-b16_openai_tag.py'))
    message = str(err.value)
    assert "'openai'" in message and 'offline' in message
    assert 'HF_HUB_OFFLINE' in message and 'pretrained=' in message
    assert 'docs/zero_shot.md' in message
