"""Tests of PrototypeHook: compute, cache, reuse, skip and bad input."""
import glob
import os.path as osp

import pytest
import torch
from mmpretrain.registry import DATASETS, HOOKS, MODELS

import mpa_fer_plugin  # noqa: F401
from mpa_fer_plugin.engine.hooks import prototype_hook
from mpa_fer_plugin.engine.prototypes import (
    build_prototype_dataloader,
    compute_prototypes,
    dataset_labels,
    select_per_class,
)


@pytest.fixture
def model(tiny_mpa_cfg):
    torch.manual_seed(0)
    return MODELS.build(tiny_mpa_cfg())


def reference(model, fer32_root, pipeline, indices=None):
    dataset = DATASETS.build(dict(type='RAFDB', data_root=fer32_root,
                                  split='train', pipeline=pipeline))
    if indices is not None:
        dataset = dataset.get_subset(indices)
    return compute_prototypes(model, build_prototype_dataloader(dataset, 8),
                              7)


def cache_files(work_dir):
    return sorted(glob.glob(osp.join(str(work_dir), 'prototypes', '*.pt')))


def test_hook_computes_caches_and_reuses(model, tiny_mpa_cfg, fake_runner,
                                         fer32_root, pipeline32, tmp_path,
                                         monkeypatch):
    hook = HOOKS.build(dict(type='PrototypeHook'))
    assert not model.head.has_prototypes
    hook.before_train(fake_runner(model, tmp_path))
    assert model.head.has_prototypes
    expected = reference(model, fer32_root, pipeline32)
    torch.testing.assert_close(model.head.prototypes, expected, rtol=0,
                               atol=1e-6)
    files = cache_files(tmp_path)
    assert len(files) == 1
    meta = torch.load(files[0], weights_only=True)['meta']
    assert meta['num_images'] == 15 and sum(meta['counts']) == 15

    # A second run (fresh model, same inputs) loads the file.
    def no_compute(*args, **kwargs):
        raise AssertionError('prototypes were recomputed')

    monkeypatch.setattr(prototype_hook, 'compute_prototypes', no_compute)
    torch.manual_seed(1)  # other prompts: the prototypes do not care
    again = MODELS.build(tiny_mpa_cfg())
    HOOKS.build(dict(type='PrototypeHook')).before_train(
        fake_runner(again, tmp_path))
    torch.testing.assert_close(again.head.prototypes, model.head.prototypes,
                               rtol=0, atol=0)


def test_hook_skips_when_prototypes_are_set(model, fake_runner, tmp_path,
                                            log_records):
    protos = torch.randn(7, 32)
    model.head.set_prototypes(protos)  # as after --resume or load_from
    HOOKS.build(dict(type='PrototypeHook')).before_train(
        fake_runner(model, tmp_path))
    torch.testing.assert_close(model.head.prototypes, protos, rtol=0,
                               atol=0)
    assert not osp.exists(tmp_path / 'prototypes')
    assert any('not recomputing' in m for m in log_records)


def test_hook_skips_without_loss_proto(tiny_mpa_cfg, fake_runner,
                                       tmp_path):
    model = MODELS.build(tiny_mpa_cfg(head=dict(loss_proto=None)))
    HOOKS.build(dict(type='PrototypeHook')).before_train(
        fake_runner(model, tmp_path))
    assert not model.head.has_prototypes
    assert not osp.exists(tmp_path / 'prototypes')


def test_samples_per_class_subset(model, fake_runner, fer32_root,
                                  pipeline32, tmp_path):
    hook = HOOKS.build(dict(type='PrototypeHook', samples_per_class=1,
                            seed=3))
    hook.before_train(fake_runner(model, tmp_path))
    dataset = DATASETS.build(dict(type='RAFDB', data_root=fer32_root,
                                  split='train', pipeline=pipeline32))
    indices = select_per_class(dataset_labels(dataset), 7, 1, seed=3)
    assert len(indices) == 7
    expected = reference(model, fer32_root, pipeline32, indices)
    torch.testing.assert_close(model.head.prototypes, expected, rtol=0,
                               atol=1e-6)
    meta = torch.load(cache_files(tmp_path)[0], weights_only=True)['meta']
    assert meta['counts'] == [1] * 7


def test_stale_cache_file_is_rebuilt(model, tiny_mpa_cfg, fake_runner,
                                     fer32_root, pipeline32, tmp_path,
                                     log_records):
    path = str(tmp_path / 'protos.pt')
    HOOKS.build(dict(type='PrototypeHook', samples_per_class=1,
                     cache_file=path)).before_train(
                         fake_runner(model, tmp_path))
    subset_key = torch.load(path, weights_only=True)['key']

    # Same file, other setting (the full set): detected, not used.
    fresh = MODELS.build(tiny_mpa_cfg())
    HOOKS.build(dict(type='PrototypeHook', cache_file=path)).before_train(
        fake_runner(fresh, tmp_path))
    warning = [m for m in log_records if 'does not match' in m]
    assert warning and 'samples_per_class' in warning[0], log_records
    torch.testing.assert_close(fresh.head.prototypes,
                               reference(fresh, fer32_root, pipeline32),
                               rtol=0, atol=1e-6)
    assert torch.load(path, weights_only=True)['key'] != subset_key

    # A cache written for another CLIP is rebuilt as well.
    other = MODELS.build(tiny_mpa_cfg())
    with torch.no_grad():
        other.backbone.visual.proj.mul_(2.0)
    HOOKS.build(dict(type='PrototypeHook', cache_file=path)).before_train(
        fake_runner(other, tmp_path))
    assert 'clip_weights' in [m for m in log_records
                              if 'does not match' in m][-1]
    torch.testing.assert_close(other.head.prototypes,
                               2 * fresh.head.prototypes, rtol=1e-5,
                               atol=1e-6)


def test_class_without_images_is_named(model, fake_runner, fer32_root,
                                       pipeline32, tmp_path):
    dataset = DATASETS.build(dict(type='RAFDB', data_root=fer32_root,
                                  split='train', pipeline=pipeline32))
    keep = [i for i, y in enumerate(dataset_labels(dataset)) if y != 5]
    hook = HOOKS.build(dict(type='PrototypeHook'))
    with pytest.raises(ValueError, match="'Surprise' \\(label 5\\)"):
        hook.before_train(fake_runner(model, tmp_path, indices=keep))
    assert not model.head.has_prototypes


def test_hook_needs_a_test_pipeline(model, fake_runner, tmp_path):
    runner = fake_runner(model, tmp_path)
    del runner.cfg['test_dataloader']
    with pytest.raises(ValueError, match='test pipeline'):
        HOOKS.build(dict(type='PrototypeHook')).before_train(runner)
    # An explicit pipeline works without test/val dataloaders.
    HOOKS.build(dict(type='PrototypeHook', pipeline=[
        dict(type='LoadFERImage'), dict(type='PackInputs')
    ])).before_train(runner)
    assert model.head.has_prototypes


@pytest.mark.parametrize('bad', [dict(samples_per_class=0),
                                 dict(batch_size=0)])
def test_bad_arguments(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        HOOKS.build(dict(type='PrototypeHook', **bad))


def test_shuffled_label_control(model, fake_runner, fer32_root, pipeline32,
                                tmp_path):
    """shuffle_labels: prototypes averaged under permuted image labels."""
    from mpa_fer_plugin.engine.prototypes import shuffle_labels
    HOOKS.build(dict(type='PrototypeHook')).before_train(
        fake_runner(model, tmp_path))
    real = model.head.prototypes.clone()
    model.head.prototypes_set.fill_(False)
    HOOKS.build(dict(type='PrototypeHook', shuffle_labels=True,
                     shuffle_seed=2)).before_train(
                         fake_runner(model, tmp_path))
    shuffled = model.head.prototypes.clone()
    # reference: per-image frozen features averaged by the permuted labels
    dataset = DATASETS.build(dict(type='RAFDB', data_root=fer32_root,
                                  split='train', pipeline=pipeline32))
    labels = torch.tensor(shuffle_labels(dataset_labels(dataset), 2))
    assert not torch.equal(labels, torch.tensor(dataset_labels(dataset)))
    with torch.no_grad():
        feats = []
        for i in range(len(dataset)):
            data = model.data_preprocessor(
                dict(inputs=[dataset[i]['inputs']]), False)
            feats.append(model.backbone.forward_frozen(data['inputs'])[0])
        feats = torch.cat(feats)
    expected = torch.stack([feats[labels == c].mean(0) for c in range(7)])
    torch.testing.assert_close(shuffled, expected, rtol=0, atol=1e-5)
    assert not torch.allclose(shuffled, real, atol=1e-4)
    assert len(cache_files(tmp_path)) == 2  # its own cache entry
    with pytest.raises(TypeError, match="shuffle_labels='yes'"):
        HOOKS.build(dict(type='PrototypeHook', shuffle_labels='yes'))
