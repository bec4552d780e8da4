"""Tests of the prototype library: Eq. 6, subsets, coverage, cache files."""
import copy

import pytest
import torch
from mmpretrain.registry import DATASETS, MODELS

import mpa_fer_plugin  # noqa: F401
from mpa_fer_plugin.datasets.categories import FER7_CLASSES
from mpa_fer_plugin.engine import (
    build_prototype_dataloader,
    check_class_coverage,
    compute_prototypes,
    load_prototypes,
    prototype_cache_key,
    save_prototypes,
    select_per_class,
    with_test_pipeline,
)
from mpa_fer_plugin.engine.prototypes import dataset_files, dataset_labels
from mpa_fer_plugin.models.losses import class_mean_prototypes


@pytest.fixture
def model(tiny_mpa_cfg):
    torch.manual_seed(0)
    return MODELS.build(tiny_mpa_cfg())


@pytest.fixture
def dataset(fer32_root, pipeline32):
    return DATASETS.build(dict(type='RAFDB', data_root=fer32_root,
                               split='train', pipeline=pipeline32))


def frozen_features(model, dataset):
    """All frozen global features and labels in one plain batch."""
    items = [dataset[i] for i in range(len(dataset))]
    with torch.no_grad():
        batch = model.data_preprocessor(
            dict(inputs=[d['inputs'] for d in items],
                 data_samples=[d['data_samples'] for d in items]))
        feats = model.backbone.forward_frozen(batch['inputs'])[0]
    labels = torch.cat([d.gt_label for d in batch['data_samples']])
    return feats, labels


@pytest.mark.parametrize('normalize', [False, True])
def test_compute_equals_plain_class_mean(model, dataset, normalize):
    feats, labels = frozen_features(model, dataset)
    expected = class_mean_prototypes(feats, labels, 7, normalize=normalize)
    loader = build_prototype_dataloader(dataset, batch_size=4)
    assert len(loader) == 4  # 15 images: 4 + 4 + 4 + 3, nothing padded
    protos = compute_prototypes(model, loader, 7, normalize=normalize)
    assert protos.dtype == torch.float32 and protos.shape == (7, 32)
    torch.testing.assert_close(protos, expected, rtol=1e-6, atol=1e-6)


def test_compute_ignores_prompts(model, dataset):
    loader = build_prototype_dataloader(dataset, batch_size=8)
    before = compute_prototypes(model, loader, 7)
    with torch.no_grad():
        model.backbone.prompts.add_(1.0)  # frozen path: no effect
    torch.testing.assert_close(compute_prototypes(model, loader, 7), before,
                               rtol=0, atol=0)


def test_compute_names_an_unseen_class(model, dataset):
    keep = [i for i, y in enumerate(dataset_labels(dataset)) if y != 2]
    loader = build_prototype_dataloader(dataset.get_subset(keep), 4)
    with pytest.raises(ValueError, match="'Fear' \\(label 2\\)"):
        compute_prototypes(model, loader, 7, classnames=FER7_CLASSES)


def test_check_class_coverage():
    labels = [0, 1, 3, 3, 4, 5, 6, 0]
    with pytest.raises(ValueError, match="class 'Fear' \\(label 2\\)"):
        check_class_coverage(labels, FER7_CLASSES)
    assert check_class_coverage(labels + [2], FER7_CLASSES) == [
        2, 1, 1, 2, 1, 1, 1]
    with pytest.raises(ValueError, match='outside'):
        check_class_coverage([0, 7], FER7_CLASSES)


def test_select_per_class_is_seeded_and_deterministic():
    labels = [i % 3 for i in range(30)] + [2] * 5  # 10, 10, 15 per class
    first = select_per_class(labels, 3, 4, seed=0)
    assert first == select_per_class(labels, 3, 4, seed=0)
    assert first == sorted(first)
    assert [sum(labels[i] == c for i in first) for c in range(3)] == [4] * 3
    assert first != select_per_class(labels, 3, 4, seed=1)
    # A class's subset does not depend on the other classes.
    other = [y if y != 0 else 1 for y in labels[:30]] + labels[30:]
    pick2 = [i for i in first if labels[i] == 2]
    assert pick2 == [i for i in select_per_class(other, 3, 4, seed=0)
                     if other[i] == 2]
    # Small classes keep every image; -1 keeps everything.
    assert select_per_class([0, 1, 1], 2, 5) == [0, 1, 2]
    assert select_per_class(labels, 3, -1) == list(range(len(labels)))
    for bad in (0, -2, 1.5, True, None):
        with pytest.raises(ValueError, match='samples_per_class'):
            select_per_class(labels, 3, bad)


def test_with_test_pipeline_unwraps_repeats(pipeline32):
    inner = dict(type='RAFDB', data_root='x', pipeline=['train'])
    cfg = with_test_pipeline(
        dict(type='RepeatDataset', times=3, dataset=inner), pipeline32)
    assert cfg['type'] == 'RAFDB' and cfg['pipeline'] == pipeline32
    assert inner['pipeline'] == ['train']  # the input is not modified
    concat = with_test_pipeline(
        dict(type='ConcatDataset', datasets=[inner, inner]), pipeline32)
    assert [d['pipeline'] for d in concat['datasets']] == [pipeline32] * 2


def key_of(model, dataset, pipeline, spc=-1, seed=0, normalize=False,
           files=None):
    labels = dataset_labels(dataset)
    files = files or dataset_files(dataset, range(len(dataset)))
    return prototype_cache_key(model, files, labels[:len(files)],
                               FER7_CLASSES, pipeline, spc, seed, normalize)


def test_cache_key_tracks_what_prototypes_depend_on(model, dataset,
                                                    pipeline32):
    key, parts = key_of(model, dataset, pipeline32)
    assert key == key_of(model, dataset, copy.deepcopy(pipeline32))[0]
    # Training the prompts does not invalidate the prototypes.
    with torch.no_grad():
        model.backbone.prompts.add_(1.0)
    assert key_of(model, dataset, pipeline32)[0] == key

    def changed(**kwargs):
        new_key, new_parts = key_of(**dict(
            dict(model=model, dataset=dataset, pipeline=pipeline32),
            **kwargs))
        assert new_key != key
        return {k for k in parts if parts[k] != new_parts[k]}

    other = copy.deepcopy(model)
    with torch.no_grad():
        other.backbone.visual.conv1.weight.mul_(1.001)
    assert changed(model=other) == {'clip_weights'}
    files = dataset_files(dataset, range(len(dataset) - 1))
    assert changed(files=files) == {'file_list'}
    pipeline = copy.deepcopy(pipeline32)
    pipeline[2]['crop_size'] = 28
    assert changed(pipeline=pipeline) == {'pipeline'}
    assert changed(spc=2) == {'samples_per_class', 'seed'}
    assert changed(normalize=True) == {'normalize'}
    # The seed only matters for a subset.
    assert key_of(model, dataset, pipeline32, seed=5)[0] == key
    assert key_of(model, dataset, pipeline32, spc=2, seed=5)[0] != \
        key_of(model, dataset, pipeline32, spc=2, seed=0)[0]


def test_cache_round_trip_and_stale_files(model, dataset, pipeline32,
                                          tmp_path, tiny_mpa_cfg,
                                          log_records):
    key, parts = key_of(model, dataset, pipeline32)
    protos = torch.randn(7, 32)
    path = str(tmp_path / 'p.pt')
    save_prototypes(path, protos, key, parts, meta=dict(num_images=15))
    loaded = load_prototypes(path, key, parts, shape=(7, 32))
    torch.testing.assert_close(loaded, protos, rtol=0, atol=0)
    assert not log_records
    # The file also feeds MPAPromptHead(prototypes=...).
    head_model = MODELS.build(tiny_mpa_cfg(head=dict(prototypes=path)))
    assert head_model.head.has_prototypes
    torch.testing.assert_close(head_model.head.prototypes, protos)

    key2, parts2 = key_of(model, dataset, pipeline32, spc=3)
    assert load_prototypes(path, key2, parts2) is None
    assert 'samples_per_class' in log_records[-1]
    assert 'recomputing' in log_records[-1]
    assert load_prototypes(path, key, parts, shape=(8, 32)) is None
    assert 'invalid' in log_records[-1]

    torch.save(protos, tmp_path / 'plain.pt')  # no key: not ours
    assert load_prototypes(str(tmp_path / 'plain.pt'), key, parts) is None
    assert 'no cache key' in log_records[-1]
    (tmp_path / 'junk.pt').write_bytes(b'not a torch file')
    assert load_prototypes(str(tmp_path / 'junk.pt'), key, parts) is None
    assert 'cannot be read' in log_records[-1]
    assert load_prototypes(str(tmp_path / 'none.pt'), key, parts) is None


def test_shuffle_labels_and_relabeled_dataset():
    from mmpretrain.structures import DataSample

    from mpa_fer_plugin.engine.prototypes import (
        RelabeledDataset,
        shuffle_labels,
    )
    labels = [0, 0, 0, 1, 1, 2, 2, 2, 2, 3]
    out = shuffle_labels(labels, seed=1)
    assert sorted(out) == sorted(labels)  # class counts kept
    assert out != labels and out == shuffle_labels(labels, seed=1)
    assert shuffle_labels(labels, seed=2) != out

    class Packed:
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return dict(inputs=torch.zeros(1),
                        data_samples=DataSample().set_gt_label(0))

    relabeled = RelabeledDataset(Packed(), [2, 1, 0])
    assert [int(relabeled[i]['data_samples'].gt_label) for i in range(3)] \
        == [2, 1, 0]
    with pytest.raises(ValueError, match='2 labels for a dataset of 3'):
        RelabeledDataset(Packed(), [0, 1])
