"""Tests of the one CLIP loading layer (local files, folders, tags)."""
import copy
import json
import os.path as osp
import time

import open_clip
import pytest
import torch

from mpa_fer_plugin.models.utils import clip_loader
from mpa_fer_plugin.models.utils.clip_loader import (
    CLIP_ENV_VARS,
    clear_clip_cache,
    clip_dims,
    get_tokenizer,
    load_clip,
    normalize_clip_spec,
)

TINY = {
    'embed_dim': 32,
    'quick_gelu': True,
    'vision_cfg': {'image_size': 32, 'layers': 2, 'width': 64,
                   'patch_size': 8, 'head_width': 32},
    'text_cfg': {'context_length': 77, 'vocab_size': 49408, 'width': 64,
                 'heads': 2, 'layers': 2},
}


@pytest.fixture(scope='module')
def reference(tmp_path_factory):
    """A random tiny CLIP saved in several formats, and its inputs."""
    d = tmp_path_factory.mktemp('clip_loader')
    torch.manual_seed(0)
    model = open_clip.model.CLIP(**copy.deepcopy(TINY)).eval()
    sd = model.state_dict()
    torch.save(sd, d / 'plain.pt')
    torch.save({'state_dict': {f'module.{k}': v
                               for k, v in sd.items()}}, d / 'wrapped.pth')
    from safetensors.torch import save_file
    save_file({k: v.contiguous() for k, v in sd.items()},
              str(d / 'w.safetensors'))
    torch.jit.script(model).save(str(d / 'openai_jit.pt'))
    folder = d / 'folder'
    folder.mkdir()
    (folder / 'open_clip_config.json').write_text(
        json.dumps({'model_cfg': TINY, 'preprocess_cfg': {}}))
    torch.save(sd, folder / 'open_clip_pytorch_model.bin')
    cfg_file = d / 'mpa-tiny-clip-test.json'
    cfg_file.write_text(json.dumps(TINY))
    open_clip.add_model_config(cfg_file)
    torch.manual_seed(1)
    images = torch.randn(3, 3, 32, 32)
    tokenizer = open_clip.get_tokenizer('ViT-B-16')
    text = tokenizer(['a photo of happiness.', 'a photo of anger.'])
    with torch.no_grad():
        img_ref = model.encode_image(images)
        txt_ref = model.encode_text(text)
    return dict(dir=d, images=images, text=text, img=img_ref, txt=txt_ref)


def _assert_same(model, ref):
    with torch.no_grad():
        assert torch.equal(model.encode_image(ref['images']), ref['img'])
        assert torch.equal(model.encode_text(ref['text']), ref['txt'])


@pytest.mark.parametrize('fname', ['plain.pt', 'wrapped.pth',
                                   'w.safetensors', 'openai_jit.pt'])
def test_local_file_with_model_cfg_is_exact(reference, fname):
    model = load_clip(
        dict(model_cfg=TINY, pretrained=str(reference['dir'] / fname)),
        use_cache=False)
    assert not model.training
    _assert_same(model, reference)


def test_local_file_with_registered_name(reference):
    model = load_clip(
        dict(model_name='mpa-tiny-clip-test',
             pretrained=str(reference['dir'] / 'plain.pt')),
        use_cache=False)
    _assert_same(model, reference)


def test_local_dir(reference):
    model = load_clip(
        dict(model_name=f'local-dir:{reference["dir"] / "folder"}'),
        use_cache=False)
    _assert_same(model, reference)


def test_openai_jit_defaults_to_quick_gelu(reference):
    cfg = dict(TINY, quick_gelu=False)
    model = load_clip(
        dict(model_cfg=cfg,
             pretrained=str(reference['dir'] / 'openai_jit.pt')),
        use_cache=False)
    assert any(isinstance(m, open_clip.transformer.QuickGELU)
               for m in model.modules())
    _assert_same(model, reference)


def test_wrong_architecture_names_file(reference, tmp_path):
    bad = copy.deepcopy(TINY)
    bad['vision_cfg']['width'] = 32
    path = str(reference['dir'] / 'plain.pt')
    with pytest.raises(ValueError, match=r'plain.pt.*other shapes.*'
                       r'vision width 64.*vision width 32'):
        load_clip(dict(model_cfg=bad, pretrained=path), use_cache=False)


@pytest.fixture(scope='module')
def two_activations(tmp_path_factory):
    """A model name open_clip has with GELU and with QuickGELU (tiny)."""
    d = tmp_path_factory.mktemp('activations')
    for name, quick in (('mpa-tiny-act', False),
                        ('mpa-tiny-act-quickgelu', True)):
        cfg_file = d / f'{name}.json'
        cfg_file.write_text(json.dumps(dict(TINY, quick_gelu=quick)))
        open_clip.add_model_config(cfg_file)
    torch.manual_seed(2)
    model = open_clip.model.CLIP(**dict(TINY, quick_gelu=True)).eval()
    torch.save(model.state_dict(), d / 'openai_like.pt')
    return d / 'openai_like.pt'


def _is_quick(model):
    return any(isinstance(m, open_clip.transformer.QuickGELU)
               for m in model.modules())


def test_plain_state_dict_needs_explicit_activation(two_activations,
                                                    reference):
    path = str(two_activations)
    assert clip_loader.has_both_activations('mpa-tiny-act')
    assert not clip_loader.has_both_activations('mpa-tiny-act-quickgelu')
    with pytest.raises(ValueError, match=(
            r"'mpa-tiny-act' exists with GELU and with QuickGELU.*"
            r'quick_gelu=True for OpenAI.*quick_gelu=False for LAION')):
        load_clip(dict(model_name='mpa-tiny-act', pretrained=path),
                  use_cache=False)
    quick = load_clip(dict(model_name='mpa-tiny-act', pretrained=path,
                           quick_gelu=True), use_cache=False)
    gelu = load_clip(dict(model_name='mpa-tiny-act', pretrained=path,
                          quick_gelu=False), use_cache=False)
    named = load_clip(dict(model_name='mpa-tiny-act-quickgelu',
                           pretrained=path), use_cache=False)
    assert _is_quick(quick) and _is_quick(named) and not _is_quick(gelu)
    with torch.no_grad():
        a = quick.encode_image(reference['images'])
        assert torch.equal(a, named.encode_image(reference['images']))
        assert not torch.allclose(a, gelu.encode_image(reference['images']))
    with pytest.raises(ValueError, match='contradicts'):
        load_clip(dict(model_name='mpa-tiny-act-quickgelu', pretrained=path,
                       quick_gelu=False), use_cache=False)
    with pytest.raises(TypeError, match="quick_gelu='yes'"):
        load_clip(dict(model_name='mpa-tiny-act', pretrained=path,
                       quick_gelu='yes'), use_cache=False)


def test_model_cfg_activation_and_override(reference):
    path = str(reference['dir'] / 'plain.pt')
    assert _is_quick(load_clip(dict(model_cfg=TINY, pretrained=path),
                               use_cache=False))  # the cfg says so
    assert not _is_quick(load_clip(dict(model_cfg=TINY, pretrained=path,
                                        quick_gelu=False), use_cache=False))


def test_jit_archive_activation_is_read(reference, tmp_path):
    torch.manual_seed(4)
    gelu_model = open_clip.model.CLIP(**dict(TINY, quick_gelu=False)).eval()
    path = str(tmp_path / 'gelu_jit.pt')
    torch.jit.script(gelu_model).save(path)
    model = load_clip(dict(model_cfg=TINY, pretrained=path), use_cache=False)
    assert not _is_quick(model)
    with torch.no_grad():
        torch.testing.assert_close(
            model.encode_image(reference['images']),
            gelu_model.encode_image(reference['images']), rtol=0, atol=0)
    with pytest.raises(ValueError, match='contradicts the TorchScript'):
        load_clip(dict(model_cfg=TINY, pretrained=path, quick_gelu=True),
                  use_cache=False)
    openai = str(reference['dir'] / 'openai_jit.pt')
    assert _is_quick(load_clip(dict(model_name='mpa-tiny-clip-test',
                                    pretrained=openai), use_cache=False))


def test_demo_weights_into_vit_b16_name_both_architectures():
    """The tiny (fp16) demo CLIP given to ViT-B-16."""
    import os.path as osp
    path = osp.join(osp.dirname(__file__), '..', '..', 'configs',
                    'demo_assets', 'tiny_clip', 'tiny_clip.pth')
    with pytest.raises(ValueError, match=(
            r"do not fit the architecture 'ViT-B-16'.*shapes.*"
            r'vision width 96, patch 8, 3 layers.*'
            r'vision width 768, patch 16, 12 layers')):
        load_clip(dict(model_name='ViT-B-16', pretrained=path,
                       quick_gelu=True), use_cache=False)


def test_offline_tag_fails_fast_with_advice(monkeypatch):
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    start = time.perf_counter()
    with pytest.raises(RuntimeError, match='local file'):
        load_clip(dict(model_name='ViT-B-16', pretrained='openai'),
                  use_cache=False)
    assert time.perf_counter() - start < 1.0


def test_missing_file_and_unknown_tag_and_model():
    with pytest.raises(FileNotFoundError, match='nowhere/ViT-B-16.pt'):
        load_clip(dict(model_name='ViT-B-16',
                       pretrained='/nowhere/ViT-B-16.pt'), use_cache=False)
    with pytest.raises(ValueError, match="'no-such-tag'"):
        load_clip(dict(model_name='ViT-B-16', pretrained='no-such-tag'),
                  use_cache=False)
    with pytest.raises(ValueError, match="'ViT-Q-99'"):
        load_clip(dict(model_name='ViT-Q-99'), use_cache=False)
    with pytest.raises(FileNotFoundError, match='missing-folder'):
        load_clip(dict(model_name='local-dir:/tmp/missing-folder'),
                  use_cache=False)


def test_missing_file_says_what_to_set(monkeypatch):
    """The message names the key, the config's environment variable and
    where the weights come from."""
    monkeypatch.delenv('CLIP_B16', raising=False)
    with pytest.raises(FileNotFoundError) as info:
        load_clip(dict(model_name='ViT-B-16', pretrained='data/clip/'
                       'ViT-B-16.pt', quick_gelu=True), use_cache=False)
    text = str(info.value)
    for part in ("'data/clip/ViT-B-16.pt'", 'clip.pretrained',
                 'CLIP_B16=/path/ViT-B-16.pt', 'github.com/openai/CLIP',
                 'open_clip', 'model.clip.pretrained='):
        assert part in text, part
    monkeypatch.setenv('CLIP_B16', '/wrong/ViT-B-16.pt')
    with pytest.raises(FileNotFoundError, match="now '/wrong/ViT-B-16.pt'"):
        load_clip(dict(model_name='ViT-B-16', pretrained='/wrong/ViT-B-16'
                       '.pt', quick_gelu=True), use_cache=False)


def test_environment_variables_are_those_of_the_configs():
    """CLIP_ENV_VARS names the variables the model configs read."""
    import glob
    import re
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    found = {}
    for path in glob.glob(osp.join(root, 'configs', '_base_', 'models',
                                   '*.py')):
        with open(path) as f:
            text = f.read()
        for name, var in re.findall(
                r"model_name='([^']+)', pretrained='\{\{\$(\w+):", text):
            found[name] = var
    assert found == CLIP_ENV_VARS


def test_spec_validation():
    with pytest.raises(ValueError, match='pretraind'):
        normalize_clip_spec(dict(model_name='ViT-B-16', pretraind='x'))
    with pytest.raises(ValueError, match='model_name'):
        normalize_clip_spec(dict(pretrained='x.pt'))
    with pytest.raises(TypeError, match='model_cfg'):
        normalize_clip_spec(dict(model_cfg='ViT-B-16'))
    spec = normalize_clip_spec(dict(model_name='ViT-B-16'))
    assert spec == dict(model_name='ViT-B-16', pretrained=None,
                        model_cfg=None, quick_gelu=None)


def test_cache_shares_one_instance(reference):
    clear_clip_cache()
    spec = dict(model_cfg=TINY, pretrained=str(reference['dir'] / 'plain.pt'))
    first = load_clip(spec)
    assert load_clip(dict(spec)) is first
    assert load_clip(spec, use_cache=False) is not first
    clear_clip_cache()
    assert load_clip(spec) is not first
    clear_clip_cache()
    assert not clip_loader._CACHE


def test_tokenizer_is_offline_and_dims(reference, monkeypatch):
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    tok = get_tokenizer(dict(model_cfg=TINY))
    assert tuple(tok(['a smiling face']).shape) == (1, 77)
    tok_named = get_tokenizer(dict(model_name='ViT-B-16'))
    assert torch.equal(tok(['a smiling face']),
                       tok_named(['a smiling face']))
    model = load_clip(dict(model_cfg=TINY), use_cache=False)
    assert clip_dims(model) == (32, 64, 64)


def test_local_dir_without_weights_is_an_error(tmp_path):
    (tmp_path / 'open_clip_config.json').write_text(
        json.dumps({'model_cfg': TINY, 'preprocess_cfg': {}}))
    (tmp_path / 'weights.pt').write_bytes(b'')  # a suffix open_clip ignores
    with pytest.raises(FileNotFoundError, match='no weights file'):
        load_clip(dict(model_name=f'local-dir:{tmp_path}'), use_cache=False)
