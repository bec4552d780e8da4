"""Model cards: built from configs, attached on load, the demo warning."""
import os.path as osp
import warnings

import numpy as np
import pytest
import torch
from mpa_world import ROOT

from mpa_fer_plugin.apis.model_card import (
    DEMO_DOMAIN,
    DemoDomainWarning,
    attach_model_card,
    build_model_card,
    card_label,
    draw_card_banner,
    ensure_model_card,
    read_model_card,
    warn_if_demo,
)


def _cfg(name):
    from mmengine.config import Config
    return Config.fromfile(osp.join(ROOT, 'configs', name))


def test_cards_from_configs():
    rafdb = build_model_card(_cfg('mpa_fer_rafdb.py'), kind='prompt-tuned',
                             metrics={'accuracy/top1': 90.0, 'x': 'text'},
                             epoch=3)
    assert rafdb['domain'] == 'real-faces'
    assert rafdb['training']['dataset'] == 'RAF-DB (basic)'
    assert rafdb['training']['split'] == 'train'
    assert rafdb['classes'][0] == 'Anger' and len(rafdb['classes']) == 7
    assert rafdb['crop_geometry'] == 'rafdb_aligned'
    assert rafdb['base_clip']['model_name'] == 'ViT-B-16'
    assert rafdb['base_clip']['weights'] == 'ViT-B-16.pt'
    assert rafdb['metrics'] == dict(split='test', epoch=3,
                                    dataset='RAF-DB (basic)',
                                    values={'accuracy/top1': 90.0})
    assert 'best_*.pth' in rafdb['selection']
    assert rafdb['config'] == 'mpa_fer_rafdb.py'
    zs = build_model_card(_cfg('zero_shot/zsclip_vit-b16_openai_tag.py'))
    assert zs['kind'] == 'zero-shot' and zs['domain'] == 'web-photos'
    assert zs['training']['dataset'] is None and zs['selection'] is None
    assert zs['base_clip']['tag'] == 'openai'
    assert card_label(zs) == ('ZERO-SHOT ViT-B-16 (openai), no FER '
                              'training')
    demo = build_model_card(_cfg('mpa_fer_demo.py'), kind='prompt-tuned')
    assert demo['domain'] == DEMO_DOMAIN
    assert card_label(demo).startswith('DEMO (drawn faces only): MPA-FER')
    with pytest.raises(ValueError, match='kind'):
        build_model_card(kind='finetuned')


def test_attach_and_read(infer_model, infer_world, tmp_path):
    # a checkpoint without a card: rebuilt from the config, noted as such
    card = read_model_card(infer_model)
    assert card['kind'] == 'prompt-tuned' and card['domain'] == DEMO_DOMAIN
    assert 'rebuilt from the config' in card['notes']
    assert card['checkpoint'] == 'matching.pth'
    assert read_model_card(infer_world['ckpt']) is None
    ckpt = torch.load(infer_world['ckpt'], weights_only=False)
    ckpt['meta']['model_card'] = dict(card, name='x', notes=None)
    path = tmp_path / 'with_card.pth'
    torch.save(ckpt, path)
    assert read_model_card(str(path))['name'] == 'x'

    class Dummy:
        _config = None
    model = Dummy()
    attached = attach_model_card(model, ckpt, str(path))
    assert attached['name'] == 'x' and model._model_card is attached
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        read_model_card(str(tmp_path / 'nope.pth'))
    fresh = Dummy()  # loaded elsewhere, without the card: attached now
    assert ensure_model_card(fresh, str(path))['name'] == 'x'
    assert ensure_model_card(fresh)['checkpoint'] == 'with_card.pth'


def test_demo_warning_once():
    class Dummy:
        _model_card = dict(domain=DEMO_DOMAIN, kind='prompt-tuned',
                           training=dict(dataset='demo world'))
    model = Dummy()
    with pytest.warns(DemoDomainWarning, match='not expression predictions'):
        assert warn_if_demo(model)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert warn_if_demo(model)  # once: no second warning
    real = Dummy()
    real._model_card = dict(domain='real-faces')
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert not warn_if_demo(real)


def test_banner():
    img = np.zeros((100, 300, 3), np.uint8)
    out = draw_card_banner(img, dict(domain=DEMO_DOMAIN, kind='zero-shot',
                                     base_clip=dict(model_name='m')))
    assert out.shape[1] == 300 and out.shape[0] > 100
    assert np.array_equal(out[:100], img)
    assert out[100:].any()  # the strip has text and colour


def test_demo_model_on_a_real_photo(tmp_path):
    """The committed demo pack, loaded by name, on scikit-image's
    astronaut: its card is in every output and it warns once."""
    import json

    import cv2
    from mpa_world import load_tool
    from skimage import data

    from mpa_fer_plugin.apis.face import FERPipeline
    photo = np.ascontiguousarray(data.astronaut()[..., ::-1])
    pipe = FERPipeline('mpa-fer_tiny-clip_demo', detector='haar')
    card = pipe.model_card
    assert card['name'] == 'mpa-fer_tiny-clip_demo'
    assert card['domain'] == DEMO_DOMAIN and card['kind'] == 'prompt-tuned'
    assert card['metrics']['split'] == 'test'
    assert pipe.describe()['model_card'] == card
    with pytest.warns(DemoDomainWarning, match='drawn faces'):
        faces = pipe.predict(photo)
    assert len(faces) == 1
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # once per model
        pipe.predict(photo)
    path = tmp_path / 'astronaut.png'
    cv2.imwrite(str(path), photo)
    with pytest.warns(DemoDomainWarning):
        out = load_tool('infer.py').main([
            str(path), 'mpa-fer_tiny-clip_demo', '--detector', 'haar',
            '--out', str(tmp_path / 'r.json')])
    saved = json.loads((tmp_path / 'r.json').read_text())
    assert saved == out and saved[0]['model_card']['name'] == card['name']
    assert saved[0]['model'].startswith('DEMO (drawn faces only)')
