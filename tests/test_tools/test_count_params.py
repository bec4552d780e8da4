"""In-process tests of tools/analysis_tools/count_params.py."""
import importlib.util
import io
import os.path as osp

import pytest
import torch

ROOT = osp.join(osp.dirname(__file__), '..', '..')


@pytest.fixture(scope='module')
def count_params():
    path = osp.join(ROOT, 'tools', 'analysis_tools', 'count_params.py')
    spec = importlib.util.spec_from_file_location('count_params', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def tiny_config(tmp_path, tiny_mpa_cfg):
    path = tmp_path / 'tiny_model.py'
    path.write_text(f'model = {tiny_mpa_cfg()!r}\n')
    return str(path)


def test_counts_tiny_config(count_params, tiny_config, capsys):
    from mmengine.config import Config
    from mmpretrain.registry import MODELS

    import mpa_fer_plugin  # noqa: F401
    result = count_params.main([tiny_config])
    out = capsys.readouterr().out
    # 2 layers x 4 prompts x width 64 + 10 context vectors x width 64
    assert result['trainable_params'] == 2 * 4 * 64 + 10 * 64
    assert result['trainable_fp32_bytes'] == 4 * (2 * 4 * 64 + 10 * 64)
    assert result['checkpoint_keys'] == [
        'backbone.prompts', 'head.prompt_learner.ctx', 'head.prototypes',
        'head.prototypes_set'
    ]
    model = MODELS.build(Config.fromfile(tiny_config).model)
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    assert result['checkpoint_bytes'] == buffer.getbuffer().nbytes
    assert 'trainable parameters:   1,152' in out
    assert 'backbone.prompts' in out and 'prompt-only checkpoint' in out


def test_cfg_options(count_params, tiny_config, capsys):
    result = count_params.main([
        tiny_config, '--quiet', '--cfg-options',
        'model.backbone.num_prompts=0', 'model.head.num_ctx=3'
    ])
    assert result['trainable_params'] == 3 * 64
    assert 'backbone.prompts' not in capsys.readouterr().out


def test_arch_switch_sets_random_weights(count_params):
    cfg = dict(clip=dict(model_name='x', pretrained='a.pt'),
               backbone=dict(clip=dict(model_name='y')), head=dict())
    count_params._set_random_arch(cfg, 'ViT-L-14')
    assert cfg['clip'] == dict(model_name='ViT-L-14', pretrained=None)
    assert 'clip' not in cfg['backbone']
    with pytest.raises(SystemExit):
        count_params.parse_args(['cfg.py', '--arch', 'ViT-H-14'])
