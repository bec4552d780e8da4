"""Open-vocabulary scoring with the learned shared context."""
import glob
import os.path as osp

import pytest
import torch


def _inputs(world, model, n=2):
    from mpa_fer_plugin.apis import prepare_images
    paths = sorted(glob.glob(osp.join(world['image_dir'], 'test_*.jpg')))
    return prepare_images(model, paths[:n])[0]


def test_training_names_reproduce_the_head(infer_model):
    from mpa_fer_plugin.apis import encode_classnames
    feats = encode_classnames(infer_model, infer_model.head.classnames)
    expected = infer_model.head.text_features()
    assert feats.shape == expected.shape == (7, 32)
    torch.testing.assert_close(feats, expected, atol=1e-5, rtol=1e-5)


def test_score_unseen_names(infer_world, infer_model):
    from mpa_fer_plugin.apis import encode_classnames, score_classnames
    inputs = _inputs(infer_world, infer_model, 3)
    names = ['contempt', 'confusion']
    logits = score_classnames(infer_model, inputs, names)
    assert logits.shape == (3, 2) and torch.isfinite(logits).all()
    # Reusing encoded features gives the same logits.
    feats = encode_classnames(infer_model, names)
    torch.testing.assert_close(
        score_classnames(infer_model, inputs, names, feats), logits)
    # With the training names, it is the model's own forward.
    with torch.no_grad():
        own = infer_model(inputs, mode='tensor')
    torch.testing.assert_close(
        score_classnames(infer_model, inputs, infer_model.head.classnames),
        own, atol=1e-4, rtol=1e-5)


def test_inferencer_with_new_names(infer_world, infer_model):
    from mpa_fer_plugin.apis import MPAFERInferencer
    names = ('contempt', 'confusion', 'boredom')
    inferencer = MPAFERInferencer(infer_model, classnames=names, topk=2)
    path = sorted(glob.glob(osp.join(infer_world['image_dir'],
                                     'test_*.jpg')))[0]
    result = inferencer(path)[0]
    assert result['pred_scores'].shape == (3, )
    assert result['pred_class'] in names
    assert len(result['topk']) == 2


def test_class_specific_context_is_refused(infer_world):
    from mpa_fer_plugin.apis import encode_classnames, init_mpa_model
    csc = init_mpa_model(infer_world['config'], infer_world['ckpt_csc'],
                         cfg_options=infer_world['csc_cfg_options'])
    with pytest.raises(ValueError, match='class-specific context'):
        encode_classnames(csc, ['contempt'])


@pytest.mark.parametrize('names, error', [
    (['a', 'A'], 'duplicates'),
    (['fine', '  '], 'non-empty'),
    ('contempt', 'list or tuple'),
])
def test_bad_names(infer_model, names, error):
    from mpa_fer_plugin.apis import encode_classnames
    with pytest.raises((ValueError, TypeError), match=error):
        encode_classnames(infer_model, names)
