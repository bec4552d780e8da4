"""Few-shot, class-subset and held-out wrappers on every dataset class."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
from mmengine.registry import init_default_scope
from mmpretrain.registry import DATASETS

from mpa_fer_plugin.datasets.categories import FER7_CLASSES
from mpa_fer_plugin.engine.prototypes import with_test_pipeline

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PIPE = [dict(type='LoadFERImage'), dict(type='PackInputs')]


@pytest.fixture(scope='module')
def trees(tmp_path_factory, fer_data):
    """One tree per official layout, 6 images per class."""
    root = tmp_path_factory.mktemp('subset_trees')
    rafdb = str(root / 'rafdb')
    fer_data.rafdb_official(rafdb, [
        (f'train_{i:05d}.jpg', i % 7 + 1) for i in range(42)] + [
        (f'test_{i:04d}.jpg', i % 7 + 1) for i in range(7)])
    folder = str(root / 'rafdb_folder')
    fer_data.rafdb_folder(folder, {'train': {str(c): 6 for c in
                                             range(1, 8)},
                                   'test': {str(c): 1 for c in range(1, 8)}})
    affectnet = str(root / 'affectnet')
    rows = [(f'{i % 8}/img{i}.jpg', str(i % 8)) for i in range(48)]
    fer_data.affectnet(affectnet, rows, csv_name='training.csv')
    fer_data.affectnet(affectnet, rows[:8], csv_name='validation.csv')
    ferplus = str(root / 'ferplus')
    votes = [[10 if j == i % 8 else 0 for j in range(10)] for i in range(8)]
    fer_data.ferplus_csv(ferplus, [
        ('Training', f'fer{k:07d}.png', votes[k % 8]) for k in range(48)])
    init_default_scope('mmpretrain')
    return dict(
        RAFDB=dict(type='RAFDB', data_root=rafdb, split='train'),
        RAFDB_folder=dict(type='RAFDB', data_root=folder, split='train'),
        AffectNet=dict(type='AffectNet', data_root=affectnet,
                       split='train', num_classes=8),
        FERPlus=dict(type='FERPlus', data_root=ferplus, split='train'))


def _names(dataset):
    from mpa_fer_plugin.datasets.subsets import image_name
    return sorted(image_name(dataset.get_data_info(i), dataset.source_root)
                  for i in range(len(dataset)))


def _fewshot(inner, shots, seed, split_file=None):
    return DATASETS.build(dict(type='FewShotSubset', shots=shots, seed=seed,
                               split_file=split_file,
                               dataset=dict(inner, pipeline=PIPE)))


@pytest.mark.parametrize('kind', ['RAFDB', 'RAFDB_folder', 'AffectNet',
                                  'FERPlus'])
def test_fewshot_every_dataset_class(trees, kind, tmp_path):
    ds = _fewshot(trees[kind], 2, 0, str(tmp_path / 'split.json'))
    classes = ds.metainfo['classes']
    assert ds.metainfo['class_counts'] == (2, ) * len(classes)
    assert len(ds) == 2 * len(classes)
    assert ds[0]['inputs'].ndim == 3  # the wrapped pipeline loads images
    again = _fewshot(trees[kind], 2, 0)
    assert _names(again) == _names(ds)
    assert _names(_fewshot(trees[kind], 2, 1)) != _names(ds)
    split = json.loads((tmp_path / 'split.json').read_text())
    assert split['shots'] == 2 and split['seed'] == 0
    assert sorted(n for v in split['images'].values() for n in v) == \
        _names(ds)


def test_fewshot_split_is_fixed_across_processes(trees, tmp_path):
    """Same names in a fresh process with another hash seed, and the
    exact draw of numpy's default_rng([seed, class]) on sorted names."""
    ds = _fewshot(trees['RAFDB'], 2, 0)
    script = (
        'import sys, json; sys.path.insert(0, sys.argv[1]);'
        'import mpa_fer_plugin; from mmengine.registry import '
        'init_default_scope; init_default_scope("mmpretrain");'
        'from mmpretrain.registry import DATASETS;'
        'd = DATASETS.build(dict(type="FewShotSubset", shots=2, seed=0,'
        'dataset=dict(type="RAFDB", data_root=sys.argv[2],'
        'split="train", pipeline=[])));'
        'print(json.dumps(sorted(d.get_data_info(i)["img_path"] '
        'for i in range(len(d)))))')
    out = subprocess.run(
        [sys.executable, '-c', script, ROOT, trees['RAFDB']['data_root']],
        capture_output=True, text=True, timeout=300,
        env=dict(os.environ, PYTHONHASHSEED='12345', PYTHONWARNINGS='ignore'))
    assert out.returncode == 0, out.stderr[-2000:]
    other = [osp.relpath(p, trees['RAFDB']['data_root'])
             for p in json.loads(out.stdout.strip().splitlines()[-1])]
    assert sorted(other) == _names(ds)
    # Anger (canonical 0) is RAF-DB code 6: train_00005, _00012, ... in
    # name order; default_rng([0, 0]).permutation(6)[:2] picks these two.
    import numpy as np
    pick = sorted(np.random.default_rng([0, 0]).permutation(6)[:2])
    anger = [f'Image/aligned/train_{5 + 7 * i:05d}_aligned.jpg' for i in pick]
    assert [n for n in _names(ds) if n in anger] == anger


def test_split_file_is_read_back_and_checked(trees, tmp_path):
    path = str(tmp_path / 'k1.json')
    ds = _fewshot(trees['RAFDB'], 1, 3, path)
    data = json.loads(open(path).read())
    # another user's file: the named images are used, not a new draw
    data['images']['Anger'] = ['Image/aligned/train_00005_aligned.jpg']
    with open(path, 'w') as f:
        json.dump(data, f)
    reused = _fewshot(trees['RAFDB'], 1, 3, path)
    assert 'Image/aligned/train_00005_aligned.jpg' in _names(reused)
    assert len(reused) == len(ds)
    with pytest.raises(ValueError, match='seed=3'):
        _fewshot(trees['RAFDB'], 1, 4, path)
    data['images']['Fear'] = ['Image/aligned/train_00012_aligned.jpg']
    with open(path, 'w') as f:
        json.dump(data, f)
    with pytest.raises(ValueError, match='Anger in the dataset'):
        _fewshot(trees['RAFDB'], 1, 3, path)


def _bad_split(trees, tmp_path, edit=None, text=None, shots=2):
    """Write a valid 2-shot split, spoil it, return the error text."""
    path = str(tmp_path / 'split.json')
    if osp.exists(path):
        os.unlink(path)
    _fewshot(trees['RAFDB'], shots, 0, path)
    if text is not None:
        with open(path, 'wb') as f:
            f.write(text)
    else:
        data = json.loads(open(path).read())
        edit(data)
        with open(path, 'w') as f:
            json.dump(data, f)
    with pytest.raises(ValueError) as info:
        _fewshot(trees['RAFDB'], shots, 0, path)
    msg = str(info.value)
    assert f'split file {path}: ' in msg  # every error names the file
    return msg


def test_split_file_errors_name_the_file_and_the_problem(trees, tmp_path):
    def dup(d):
        d['images']['Fear'][1] = d['images']['Fear'][0]
    assert 'is listed twice in class Fear' in _bad_split(trees, tmp_path,
                                                         dup)

    def cross(d):
        d['images']['Fear'][0] = d['images']['Anger'][0]
    assert 'is listed in classes Anger and Fear' in \
        _bad_split(trees, tmp_path, cross)

    def missing_class(d):
        del d['images']['Sadness']
    assert "no images for class(es) ['Sadness']: a 2-shot split needs " \
        'every class' in _bad_split(trees, tmp_path, missing_class)

    def empty_class(d):
        d['images']['Sadness'] = []
    assert "no images for class(es) ['Sadness']" in \
        _bad_split(trees, tmp_path, empty_class)

    def three(d):
        d['images']['Happiness'].append(
            'Image/aligned/train_00010_aligned.jpg')
    assert 'class Happiness has 3 images, but a 2-shot split has 2' in \
        _bad_split(trees, tmp_path, three)

    def unknown(d):
        d['images']['Contempt'] = ['x.jpg']
    assert "classes ['Contempt'] are not classes of the dataset" in \
        _bad_split(trees, tmp_path, unknown)

    def no_images(d):
        d['chosen'] = d.pop('images')
    msg = _bad_split(trees, tmp_path, no_images)
    assert 'no "images" key' in msg and "'chosen'" in msg

    def flat(d):
        d['images'] = ['a.jpg']
    assert '"images" must map each class name' in \
        _bad_split(trees, tmp_path, flat)
    msg = _bad_split(trees, tmp_path, text=b'{"shots": 2, "seed": 0,\n "im')
    assert 'not valid JSON (line 2, column' in msg
    msg = _bad_split(trees, tmp_path, text=b'{"shots": 2, "se\xffd": 0}')
    assert "not UTF-8 text (byte 16: b'\\xff')" in msg
    assert 'expected a JSON object' in _bad_split(trees, tmp_path,
                                                  text=b'[1, 2]')


def test_prototype_pipeline_rebuild_selects_the_same_shots(trees, tmp_path):
    """PrototypeHook rebuilds the training set with the test pipeline:
    the wrapper must choose the same K images."""
    cfg = dict(type='FewShotSubset', shots=2, seed=5,
               dataset=dict(trees['AffectNet'], pipeline=[]))
    train = DATASETS.build(cfg)
    rebuilt = DATASETS.build(with_test_pipeline(cfg, PIPE))
    assert _names(rebuilt) == _names(train)
    assert rebuilt[0]['inputs'].ndim == 3


def test_class_subset_relabels_and_counts_dropped(trees):
    keep = ('Happiness', 'Anger')
    ds = DATASETS.build(dict(type='ClassSubset', classes=keep,
                             dataset=dict(trees['FERPlus'], pipeline=PIPE)))
    assert ds.metainfo['classes'] == keep
    assert ds.metainfo['class_counts'] == (6, 6)
    assert ds.metainfo['dropped_classes'] == {
        c: 6 for c in ('Disgust', 'Fear', 'Sadness', 'Surprise', 'Neutral',
                       'Contempt')}
    inner = DATASETS.build(dict(trees['FERPlus'], pipeline=PIPE))
    happy = [i for i in range(len(inner))
             if inner.get_data_info(i)['gt_label'] == 4]
    assert sorted(ds.get_data_info(i)['img_path'] for i in range(len(ds))
                  if ds.get_data_info(i)['gt_label'] == 0) == sorted(
        inner.get_data_info(i)['img_path'] for i in happy)
    with pytest.raises(ValueError, match='not in the wrapped'):
        DATASETS.build(dict(type='ClassSubset', classes=('Pain', ),
                            dataset=dict(trees['RAFDB'], pipeline=PIPE)))


def test_holdout_parts_are_disjoint_stratified_and_cover(trees):
    parts = {p: DATASETS.build(dict(
        type='HoldoutSplit', part=p, val_fraction=0.34, seed=0,
        dataset=dict(trees['RAFDB'], pipeline=PIPE)))
        for p in ('train', 'val')}
    train, val = _names(parts['train']), _names(parts['val'])
    assert not set(train) & set(val)
    assert len(train) + len(val) == 42
    assert parts['val'].metainfo['class_counts'] == (2, ) * 7
    assert parts['val'].metainfo['classes'] == FER7_CLASSES
