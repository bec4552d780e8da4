import filecmp
import importlib.util
import os
import os.path as osp

import cv2
import numpy as np
import pytest

from mpa_fer_plugin.datasets import FER7_CLASSES, FER8_CLASSES, RAFDB
from mpa_fer_plugin.datasets.synthetic import (
    MANIFEST,
    MOVED_REGIONS,
    REGION_NAMES,
    generate_synthetic_fer,
    load_region_mask,
    render_face,
    render_face_and_regions,
    synthetic_labels,
    verify_synthetic_fer,
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
    with pytest.raises(ValueError, match='unknown shift'):
        render_face('Fear', np.random.default_rng(0), shift=['hue'])


def test_cli(tmp_path):
    spec = importlib.util.spec_from_file_location('make_synthetic_fer', TOOL)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    tool.main([str(tmp_path), '--num-train', '14', '--num-test', '7',
               '--size', '48', '--seed', '1', '--classes', '7',
               '--test-shift', 'pose'])
    ds = RAFDB(str(tmp_path), split='test')
    assert len(ds) == 7 and ds.metainfo['image_size'] == (48, 48)
    with pytest.raises(FileExistsError):
        tool.main([str(tmp_path), '--num-train', '7', '--num-test', '0'])
    tool.main([str(tmp_path), '--num-train', '7', '--num-test', '0',
               '--overwrite'])
    assert verify_synthetic_fer(str(tmp_path), num_train=7, num_test=0)


def _face_crops(ds, root, side=24):
    """Each image cut to its face (the bounding box of its region mask)."""
    feats = []
    for i in range(len(ds)):
        path = ds.get_data_info(i)['img_path']
        img = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
        stem = osp.basename(path).replace('_aligned.jpg', '')
        ys, xs = np.nonzero(load_region_mask(root, stem))
        crop = img[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
        x = cv2.resize(crop, (side, side), interpolation=cv2.INTER_AREA)
        x = x.astype(np.float64).ravel()
        feats.append((x - x.mean()) / (x.std() + 1e-6))
    labels = np.array([ds.get_cat_ids(i)[0] for i in range(len(ds))])
    return np.stack(feats), labels


def test_expressions_are_visible_where_the_masks_say(synthetic_root):
    """A linear model on the masked face crops beats chance (1/7) widely:
    the cues are drawn, and the masks find the face in the clutter."""
    x_tr, y_tr = _face_crops(RAFDB(synthetic_root, split='train'),
                             synthetic_root)
    x_te, y_te = _face_crops(RAFDB(synthetic_root, split='test'),
                             synthetic_root)
    k = len(FER7_CLASSES)
    w = np.linalg.solve(x_tr.T @ x_tr + 100 * np.eye(x_tr.shape[1]),
                        x_tr.T @ np.eye(k)[y_tr])
    ridge_acc = ((x_te @ w).argmax(1) == y_te).mean()
    assert ridge_acc > 0.3, ridge_acc


def test_region_masks_follow_the_face():
    rng = np.random.default_rng(0)
    img, mask = render_face_and_regions('Disgust', rng, size=64)
    assert img.shape == (64, 64, 3) and mask.shape == (64, 64)
    present = {name for i, name in enumerate(REGION_NAMES)
               if (mask >> i & 1).any()}
    assert present == set(REGION_NAMES)
    # Brows lie above the mouth (rotation is at most 10 degrees).
    rows = {name: np.nonzero(mask >> i & 1)[0].mean()
            for i, name in enumerate(REGION_NAMES)}
    assert rows['brows'] < rows['eyes'] < rows['nose'] < rows['mouth']
    # Faces cover 30-60 % of the frame: regions are a part of it.
    assert 0.05 < (mask > 0).mean() < 0.6
    assert set(MOVED_REGIONS['Fear']) <= set(REGION_NAMES)
    assert MOVED_REGIONS['Neutral'] == ()


def test_masks_manifest_and_verification(tmp_path):
    root = str(tmp_path / 'w')
    generate_synthetic_fer(root, num_train=7, num_test=7, size=32,
                           test_shift=['pose', 'intensity'])
    mask = load_region_mask(root, 'test_0001')
    assert mask.shape == (32, 32) and mask.max() < 32
    manifest = verify_synthetic_fer(root, num_train=7, size=32,
                                    test_shift=['intensity', 'pose'])
    assert manifest['region_bits'] == {'brows': 1, 'eyes': 2, 'nose': 4,
                                       'mouth': 8, 'cheeks': 16}
    assert manifest['counts'] == {'train': [1] * 7, 'test': [1] * 7}
    with pytest.raises(ValueError, match='num_train=7'):
        verify_synthetic_fer(root, num_train=8)
    os.remove(osp.join(root, 'Masks', 'aligned', 'train_00003_regions.png'))
    with pytest.raises(ValueError, match='train_00003_regions.png'):
        verify_synthetic_fer(root)
    label = osp.join(root, 'EmoLabel', 'list_patition_label.txt')
    with open(label, 'a') as f:
        f.write('test_0008.jpg 1\n')
    with pytest.raises(ValueError, match='SHA-256'):
        verify_synthetic_fer(root)
    os.remove(osp.join(root, MANIFEST))
    with pytest.raises(ValueError, match='no manifest'):
        verify_synthetic_fer(root)


def test_refuses_a_non_empty_folder_unless_told(tmp_path):
    (tmp_path / 'keep.txt').write_text('mine')
    with pytest.raises(FileExistsError, match='overwrite'):
        generate_synthetic_fer(str(tmp_path), num_train=7, num_test=0,
                               size=32)
    assert (tmp_path / 'keep.txt').exists()
    generate_synthetic_fer(str(tmp_path), num_train=7, num_test=0, size=32,
                           overwrite=True)
    assert not (tmp_path / 'keep.txt').exists()
    assert len(RAFDB(str(tmp_path), split='train')) == 7


def test_test_shift_changes_only_the_test_split(tmp_path):
    kw = dict(num_train=7, num_test=7, size=32)
    generate_synthetic_fer(str(tmp_path / 'a'), **kw)
    generate_synthetic_fer(str(tmp_path / 'b'), test_shift=['palette'], **kw)
    for stem, same in (('train_00001', True), ('test_0001', False)):
        rel = osp.join('Image', 'aligned', f'{stem}_aligned.jpg')
        assert filecmp.cmp(tmp_path / 'a' / rel, tmp_path / 'b' / rel,
                           shallow=False) == same
    with pytest.raises(ValueError, match='test_shift'):
        generate_synthetic_fer(str(tmp_path / 'c'), test_shift=['hue'])
