import filecmp
import importlib.util
import os
import os.path as osp

import cv2
import numpy as np
import pytest

from mpa_fer_plugin.datasets import FER7_CLASSES, FER8_CLASSES, RAFDB
from mpa_fer_plugin.datasets.synthetic import (
    generate_synthetic_fer,
    render_face,
    synthetic_labels,
)

TOOL = osp.join(osp.dirname(__file__), '..', '..', 'tools',
                'dataset_converters', 'make_synthetic_fer.py')


def tree(root):
    return sorted(osp.relpath(osp.join(d, f), root)
                  for d, _, files in os.walk(root) for f in files)


def same_bytes(a, b):
    names = tree(a)
    return names == tree(b) and all(
        filecmp.cmp(osp.join(a, n), osp.join(b, n), shallow=False)
        for n in names)


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    kw = dict(num_train=21, num_test=7, size=64)
    generate_synthetic_fer(str(tmp_path / 'a'), seed=3, **kw)
    generate_synthetic_fer(str(tmp_path / 'b'), seed=3, **kw)
    generate_synthetic_fer(str(tmp_path / 'c'), seed=4, **kw)
    assert same_bytes(tmp_path / 'a', tmp_path / 'b')
    assert tree(tmp_path / 'a') == tree(tmp_path / 'c')
    img = osp.join('Image', 'aligned', 'train_00001_aligned.jpg')
    assert not filecmp.cmp(tmp_path / 'a' / img, tmp_path / 'c' / img,
                           shallow=False)


def test_rafdb_reads_output_with_balanced_counts(synthetic_root):
    train = RAFDB(synthetic_root, split='train')
    test = RAFDB(synthetic_root, split='test')
    assert (len(train), len(test)) == (700, 280)
    assert train.metainfo['class_counts'] == (100, ) * 7
    assert test.metainfo['class_counts'] == (40, ) * 7
    assert train.metainfo['image_size'] == (100, 100)
    assert osp.basename(train.get_data_info(0)['img_path']) == \
        'train_00001_aligned.jpg'
    assert osp.basename(test.get_data_info(0)['img_path']) == \
        'test_0001_aligned.jpg'


def test_class_weights_and_eight_classes(tmp_path):
    weights = [4, 1, 1, 1, 1, 1, 1, 0]
    counts = generate_synthetic_fer(str(tmp_path), num_train=40, num_test=8,
                                    size=32, num_classes=8,
                                    class_weights=weights)
    assert counts['train'] == [16, 4, 4, 4, 4, 4, 4, 0]
    ds = RAFDB(str(tmp_path), split='train', num_classes=8)
    assert ds.metainfo['classes'] == FER8_CLASSES
    assert ds.metainfo['class_counts'] == tuple(counts['train'])
    labels = synthetic_labels(16, 8, seed=0, split='train')
    assert np.bincount(labels).tolist() == [2] * 8


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match='num_classes=6'):
        generate_synthetic_fer(str(tmp_path), num_classes=6)
    with pytest.raises(ValueError, match='class_weights'):
        generate_synthetic_fer(str(tmp_path), class_weights=[1, 2])
    with pytest.raises(ValueError, match='size=8'):
        generate_synthetic_fer(str(tmp_path), size=8)
    with pytest.raises(ValueError, match="'Boredom'"):
        render_face('Boredom', np.random.default_rng(0))


def test_cli(tmp_path):
    spec = importlib.util.spec_from_file_location('make_synthetic_fer', TOOL)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    tool.main([str(tmp_path), '--num-train', '14', '--num-test', '7',
               '--size', '48', '--seed', '1', '--classes', '7'])
    ds = RAFDB(str(tmp_path), split='test')
    assert len(ds) == 7 and ds.metainfo['image_size'] == (48, 48)


def _features(ds, side=24):
    feats = []
    for i in range(len(ds)):
        img = cv2.imread(ds.get_data_info(i)['img_path'], cv2.IMREAD_GRAYSCALE)
        x = cv2.resize(img, (side, side), interpolation=cv2.INTER_AREA)
        x = x.astype(np.float64).ravel()
        feats.append((x - x.mean()) / (x.std() + 1e-6))
    labels = np.array([ds.get_cat_ids(i)[0] for i in range(len(ds))])
    return np.stack(feats), labels


def test_expressions_are_separable(synthetic_root):
    """Simple pixel classifiers beat chance (1/7) by a wide margin."""
    x_tr, y_tr = _features(RAFDB(synthetic_root, split='train'))
    x_te, y_te = _features(RAFDB(synthetic_root, split='test'))
    k = len(FER7_CLASSES)
    means = np.stack([x_tr[y_tr == c].mean(0) for c in range(k)])
    dist = ((x_te[:, None] - means[None])**2).sum(-1)
    ncm_acc = (dist.argmin(1) == y_te).mean()
    # ridge regression to one-hot targets: a linear model on raw pixels
    w = np.linalg.solve(x_tr.T @ x_tr + 100 * np.eye(x_tr.shape[1]),
                        x_tr.T @ np.eye(k)[y_tr])
    ridge_acc = ((x_te @ w).argmax(1) == y_te).mean()
    # chance is 1/7 = 0.143; over seeds 0-3 NCM scored 0.27-0.55 and ridge
    # 0.88-0.94 (seed 0 here: 0.55 and 0.88)
    assert ncm_acc > 0.22, ncm_acc
    assert ridge_acc > 0.6, ridge_acc
