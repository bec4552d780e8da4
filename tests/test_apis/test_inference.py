"""Inference through mmpretrain's API and the plugin's checked loading."""
import glob
import os.path as osp

import numpy as np
import pytest
import torch


def _images(world, n=2):
    return sorted(glob.glob(osp.join(world['image_dir'], 'test_*.jpg')))[:n]


def _ckpt_state(path):
    return torch.load(path, map_location='cpu',
                      weights_only=False)['state_dict']


def test_get_model_loads_prompt_only_checkpoint(infer_world):
    from mmpretrain.apis import get_model
    model = get_model(infer_world['config'], pretrained=infer_world['ckpt'])
    state = _ckpt_state(infer_world['ckpt'])
    # Only prompts (and prototypes) are stored; they all arrive.
    assert not any('visual.' in k or 'text_encoder' in k for k in state)
    assert torch.equal(model.backbone.prompts, state['backbone.prompts'])
    assert torch.equal(model.head.prompt_learner.ctx,
                       state['head.prompt_learner.ctx'])
    assert model._dataset_meta['classes'] == model.head.classnames


def test_stock_inferencer_on_config_and_checkpoint(infer_world, infer_model):
    from mmpretrain.apis import ImageClassificationInferencer
    inferencer = ImageClassificationInferencer(
        infer_world['config'], pretrained=infer_world['ckpt'])
    image = _images(infer_world, 1)[0]
    result = inferencer(image)[0]
    assert result['pred_class'] in infer_model.head.classnames
    assert result['pred_scores'].shape == (7, )
    assert result['pred_scores'].sum() == pytest.approx(1.0, abs=1e-5)

    from mpa_fer_plugin.apis import prepare_images
    inputs, _ = prepare_images(infer_model, [image])
    with torch.no_grad():
        expected = infer_model(inputs, mode='tensor').softmax(-1)[0]
    np.testing.assert_allclose(result['pred_scores'], expected.numpy(),
                               atol=1e-5)


def test_mpa_inferencer_topk_batch(infer_world):
    from mpa_fer_plugin.apis import MPAFERInferencer
    inferencer = MPAFERInferencer(infer_world['config'],
                                  pretrained=infer_world['ckpt'], topk=3)
    results = inferencer(_images(infer_world, 3), batch_size=2)
    assert len(results) == 3
    for result in results:
        names = [c for c, _ in result['topk']]
        scores = [s for _, s in result['topk']]
        assert len(names) == 3 and names[0] == result['pred_class']
        assert scores == sorted(scores, reverse=True)
        assert scores[0] == pytest.approx(result['pred_score'])
    # A folder gives its images (7 train + 7 test faces).
    assert len(inferencer(infer_world['image_dir'], batch_size=8)) == 14


def test_list_images(tmp_path):
    from mpa_fer_plugin.apis import list_images
    for name in ('b.png', 'a.JPG', 'notes.txt'):
        (tmp_path / name).write_bytes(b'x')
    (tmp_path / 'sub.jpg').mkdir()
    assert [osp.basename(p) for p in list_images(str(tmp_path))] == [
        'a.JPG', 'b.png'
    ]
    assert list_images(str(tmp_path / 'b.png')) == [str(tmp_path / 'b.png')]
    empty = tmp_path / 'empty'
    empty.mkdir()
    (empty / 'readme.md').write_text('no images')
    with pytest.raises(ValueError, match='no images in the folder .*empty'):
        list_images(str(empty))
    with pytest.raises(FileNotFoundError, match='missing.jpg'):
        list_images(str(tmp_path / 'missing.jpg'))


def test_load_image_errors_name_the_file(tmp_path):
    from mpa_fer_plugin.apis import load_image
    bad = tmp_path / 'broken.jpg'
    bad.write_bytes(b'not a jpeg at all')
    with pytest.raises(ValueError, match='cannot read image file .*broken'):
        load_image(str(bad))
    with pytest.raises(FileNotFoundError, match='gone.png'):
        load_image(str(tmp_path / 'gone.png'))
    gray = load_image(np.zeros((5, 6), np.uint8))
    assert gray.shape == (5, 6, 3)
    with pytest.raises(ValueError, match='HxWx3'):
        load_image(np.zeros((5, 6, 4), np.uint8))


def test_inferencer_names_unreadable_image(infer_model, tmp_path):
    from mpa_fer_plugin.apis import MPAFERInferencer
    bad = tmp_path / 'corrupt.png'
    bad.write_bytes(b'\x89PNG but truncated')
    with pytest.raises(ValueError, match='corrupt.png'):
        MPAFERInferencer(infer_model)(str(bad))


def test_mismatched_visual_prompts(infer_world):
    from mpa_fer_plugin.apis import init_mpa_model
    ckpt = infer_world['ckpt_prompts']
    with pytest.raises(ValueError) as err:
        init_mpa_model(infer_world['config'], ckpt)
    msg = str(err.value)
    assert ckpt in msg and "'backbone.prompts'" in msg
    assert '(2, 3, 64)' in msg and '(2, 2, 64)' in msg
    assert 'num_prompts' in msg


def test_mismatched_classes(infer_world):
    from mpa_fer_plugin.apis import init_mpa_model
    ckpt = infer_world['ckpt_classes']
    with pytest.raises(ValueError,
                       match=r'fer8_classes.pth was trained on 8 classes.*'
                       r"'Contempt'.*has 7 classnames"):
        init_mpa_model(infer_world['config'], ckpt)


def test_mismatched_context_kind(infer_world):
    from mpa_fer_plugin.apis import init_mpa_model
    # Shared-context config, class-specific (CSC) checkpoint.
    with pytest.raises(ValueError, match=r"csc.pth.*'head.prompt_learner."
                       r"ctx' has shape \(7, 4, 64\).*\(4, 64\).*"
                       'class_specific_ctx'):
        init_mpa_model(infer_world['config'], infer_world['ckpt_csc'])
    # ... and the other way round.
    with pytest.raises(ValueError, match='prompt_learner.ctx'):
        init_mpa_model(infer_world['config'], infer_world['ckpt'],
                       cfg_options=infer_world['csc_cfg_options'])


def test_missing_files(infer_world, tmp_path):
    from mpa_fer_plugin.apis import init_mpa_model
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        init_mpa_model(infer_world['config'], str(tmp_path / 'nope.pth'))
    with pytest.raises(FileNotFoundError, match='nope.py'):
        init_mpa_model(str(tmp_path / 'nope.py'))


# ------------------------------------------- whole-or-refused checkpoints
#: A mismatch (ValueError) or a corrupt file (CorruptCheckpointError).
REFUSED = (ValueError, RuntimeError)


@pytest.fixture(scope='module')
def broken(infer_world, tmp_path_factory):
    from broken_checkpoints import write_variants
    return write_variants(infer_world, tmp_path_factory.mktemp('broken'))


@pytest.mark.parametrize('variant', sorted(
    __import__('broken_checkpoints').EXPECTED))
def test_broken_checkpoint_refused_by_init_mpa_model(infer_world, broken,
                                                     variant):
    from broken_checkpoints import EXPECTED

    from mpa_fer_plugin.apis import init_mpa_model
    with pytest.raises(REFUSED) as err:
        init_mpa_model(infer_world['config'], broken[variant])
    assert broken[variant] in str(err.value)
    assert EXPECTED[variant] in str(err.value)


@pytest.mark.parametrize('variant', ['empty', 'nan_prompts', 'numpy_ctx',
                                     'class_order', 'flipped'])
def test_broken_checkpoint_refused_by_mmpretrain_apis(infer_world, broken,
                                                      variant):
    """get_model and the stock inferencer load through the same check."""
    from broken_checkpoints import EXPECTED
    from mmpretrain.apis import ImageClassificationInferencer, get_model
    for load in (lambda: get_model(infer_world['config'],
                                   pretrained=broken[variant]),
                 lambda: ImageClassificationInferencer(
                     infer_world['config'], pretrained=broken[variant])):
        with pytest.raises(REFUSED, match=EXPECTED[variant]):
            load()


def test_every_mmengine_loading_path_is_checked():
    """The names mmengine's loaders call all point at the checked one."""
    import mmengine.infer.infer as infer_mod
    import mmengine.runner.checkpoint as ckpt_mod
    import mmengine.runner.runner as runner_mod

    from mpa_fer_plugin.utils.checkpoint_check import (
        checked_load_checkpoint_to_model,
    )
    for module in (ckpt_mod, runner_mod, infer_mod):
        assert module._load_checkpoint_to_model is \
            checked_load_checkpoint_to_model


def test_refused_checkpoint_leaves_model_untouched(infer_world, broken):
    from mmengine.runner import load_checkpoint

    from mpa_fer_plugin.apis import init_mpa_model
    model = init_mpa_model(infer_world['config'])
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(ValueError, match='NaN'):
        load_checkpoint(model, broken['nan_prompts'])
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key


def test_non_finite_scores_are_never_returned(infer_world):
    """Prompts broken after loading: an error, never a NaN score."""
    from mpa_fer_plugin.apis import MPAFERInferencer, init_mpa_model
    model = init_mpa_model(infer_world['config'], infer_world['ckpt'])
    with torch.no_grad():
        model.backbone.prompts.fill_(float('nan'))
    with pytest.raises(FloatingPointError, match='non-finite scores'):
        MPAFERInferencer(model)(np.full((32, 32, 3), 90, np.uint8))
