"""The dataset check on generated copies of every layout the plugin reads.

Each builder writes a tiny tree with 2 images per class and split, every
image different, and returns the data root, the dataset arguments and the
expected counts. A correct copy passes against its own counts and fails
against the official ones; a copy with a missing class, an image copied
into two splits or a wrong expected count fails.
"""
import csv
import json
import os
import os.path as osp
import shutil
import sys

import cv2
import numpy as np
import pytest

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from fer_trees import (  # noqa: E402
    write_affectnet,
    write_ferplus_csv,
    write_rafdb_official,
)

from mpa_fer_plugin.datasets.categories import (  # noqa: E402
    AFFECTNET_NATIVE,
    FER7_CLASSES,
    FER8_CLASSES,
    FERPLUS_NATIVE,
    RAFDB_NATIVE,
)
from mpa_fer_plugin.datasets.check import (  # noqa: E402
    check_dataset,
    class_order,
    normalise_expected,
)
from mpa_fer_plugin.datasets.check_sheets import (  # noqa: E402
    format_report,
    write_contact_sheets,
)

PER_CLASS = 2
_SEED = [0]


def _image(path, gray=False):
    """A distinct random image (never the same bytes twice)."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    _SEED[0] += 1
    rng = np.random.default_rng(_SEED[0])
    shape = (12, 12) if gray else (12, 12, 3)
    assert cv2.imwrite(path, rng.integers(0, 256, shape, dtype=np.uint8))


def _counts(classes, splits, skip=None):
    return {s: {c: (0 if (s, c) == skip else PER_CLASS) for c in classes}
            for s in splits}


def rafdb_official(root, skip=None):
    entries = []
    for split in ('train', 'test'):
        k = 0
        for code, name in enumerate(RAFDB_NATIVE, 1):
            if (split, name) == skip:
                continue
            for _ in range(PER_CLASS):
                k += 1
                entries.append((f'{split}_{k:05d}.jpg', code))
    write_rafdb_official(root, entries, images=False)
    for name, _ in entries:
        _image(osp.join(root, 'Image', 'aligned',
                        name.replace('.jpg', '_aligned.jpg')))
    return dict(layout='official'), _counts(FER7_CLASSES, ('train', 'test'),
                                            skip)


def rafdb_folder(root, skip=None):
    for split in ('train', 'test'):
        for code, name in enumerate(RAFDB_NATIVE, 1):
            if (split, name) == skip:
                continue  # no class folder
            for k in range(PER_CLASS):
                _image(osp.join(root, split, str(code), f'img_{k}.png'))
    return dict(layout='folder'), _counts(FER7_CLASSES, ('train', 'test'),
                                          skip)


def _affectnet(root, num, skip=None):
    for split, csv_name in (('train', 'training.csv'),
                            ('val', 'validation.csv')):
        rows = []
        for code, name in enumerate(AFFECTNET_NATIVE[:num]):
            if (split, name) == skip:
                continue
            for k in range(PER_CLASS):
                rows.append((f'{split}{code}/{k}.jpg', str(code)))
        rows.append((f'{split}9/none.jpg', '9'))  # 'Uncertain': dropped
        write_affectnet(root, rows, csv_name, images=False)
        for path, _ in rows:
            _image(osp.join(root, 'Manually_Annotated_Images', path))
    classes = FER7_CLASSES if num == 7 else FER8_CLASSES
    return {}, _counts(classes, ('train', 'val'), skip)


def affectnet7(root, skip=None):
    return _affectnet(root, 7, skip)


def affectnet8(root, skip=None):
    args, counts = _affectnet(root, 8, skip)
    return dict(args), counts


def _votes(native):
    votes = [0] * 10
    votes[native] = 10
    return votes


def ferplus_csv(root, skip=None):
    rows = []
    for usage, split in (('Training', 'train'), ('PublicTest', 'val'),
                         ('PrivateTest', 'test')):
        for native, name in enumerate(FERPLUS_NATIVE):
            if (split, name) == skip:
                continue
            for k in range(PER_CLASS):
                rows.append((usage, f'fer{len(rows):07d}.png',
                             _votes(native)))
    write_ferplus_csv(root, rows)
    return dict(layout='csv'), _counts(FER8_CLASSES, ('train', 'val', 'test'),
                                       skip)


def ferplus_folder(root, skip=None):
    for folder, split in (('FER2013Train', 'train'), ('FER2013Valid', 'val'),
                          ('FER2013Test', 'test')):
        os.makedirs(osp.join(root, folder), exist_ok=True)
        with open(osp.join(root, folder, 'label.csv'), 'w', newline='') as f:
            writer = csv.writer(f)
            for native, name in enumerate(FERPLUS_NATIVE):
                if (split, name) == skip:
                    continue
                for k in range(PER_CLASS):
                    fname = f'{split}_{native}_{k}.png'
                    writer.writerow([fname, '(0, 0, 48, 48)',
                                     *_votes(native)])
                    _image(osp.join(root, folder, fname), gray=True)
    return dict(layout='folder'), _counts(
        FER8_CLASSES, ('train', 'val', 'test'), skip)


LAYOUTS = {
    'rafdb-official': ('rafdb', rafdb_official),
    'rafdb-folder': ('rafdb', rafdb_folder),
    'affectnet7': ('affectnet7', affectnet7),
    'affectnet8': ('affectnet8', affectnet8),
    'ferplus-csv': ('ferplus', ferplus_csv),
    'ferplus-folder': ('ferplus', ferplus_folder),
}


def _fails(report):
    return [f['message'] for f in report['findings']
            if f['level'] == 'FAIL']


@pytest.mark.parametrize('layout', sorted(LAYOUTS))
def test_correct_copy_passes(layout, tmp_path):
    name, build = LAYOUTS[layout]
    args, counts = build(str(tmp_path))
    report = check_dataset(name, str(tmp_path), counts, **args)
    assert report['passed'], _fails(report)
    assert report['cross_split_duplicates'] == []
    for split, per in counts.items():
        assert report['splits'][split]['per_class'] == per
    text = format_report(report)
    assert text.endswith('RESULT: PASS')
    files = write_contact_sheets(report, str(tmp_path / 'sheets'))
    assert len(files) == len(report['classes'])
    sheet = cv2.imread(files[0])
    assert sheet is not None and sheet.shape[0] > 28


@pytest.mark.parametrize('layout', sorted(LAYOUTS))
def test_wrong_count_fails(layout, tmp_path):
    name, build = LAYOUTS[layout]
    args, counts = build(str(tmp_path))
    split = next(iter(counts))
    cls = next(iter(counts[split]))
    counts[split][cls] += 1
    report = check_dataset(name, str(tmp_path), counts, **args)
    assert not report['passed']
    assert any(m.startswith(f'{cls}: {PER_CLASS} images, expected count '
                            f'is {PER_CLASS + 1}') for m in _fails(report))
    # totals only
    report = check_dataset(name, str(tmp_path), {split: 3}, **args)
    assert any('official' not in m and 'expected count is 3' in m
               for m in _fails(report))


@pytest.mark.parametrize('layout', sorted(LAYOUTS))
def test_missing_class_fails(layout, tmp_path):
    name, build = LAYOUTS[layout]
    args, counts = build(str(tmp_path), skip=('test' if 'rafdb' in layout
                                              else 'val', 'Fear'))
    report = check_dataset(name, str(tmp_path), counts, **args)
    assert not report['passed']
    assert any(m == 'class Fear has no images (a missing class folder or '
               'label?)' for m in _fails(report))


@pytest.mark.parametrize('layout', sorted(LAYOUTS))
def test_image_in_two_splits_fails(layout, tmp_path):
    name, build = LAYOUTS[layout]
    root = str(tmp_path)
    args, counts = build(root)
    if layout == 'ferplus-csv':  # same pixels in a train and a test row
        rows, pixels = [], []
        with open(osp.join(root, 'fer2013new.csv')) as f:
            lines = f.read().splitlines()[1:]
        for i, line in enumerate(lines):
            usage, fname, *votes = line.split(',')
            rows.append((usage, fname, [int(v) for v in votes]))
            pixels.append(' '.join([str(i)] * 48 * 48))
        pixels[-1] = pixels[0]
        write_ferplus_csv(root, rows, pixels=pixels)
    else:
        files = sorted(
            osp.relpath(osp.join(d, f), root) for d, _, fs in os.walk(root)
            for f in fs if f.endswith(('.jpg', '.png')))
        first = next(f for f in files if 'train' in f.lower())
        last = next(f for f in files if 'test' in f.lower()
                    or 'val' in f.lower())
        shutil.copyfile(osp.join(root, first), osp.join(root, last))
    report = check_dataset(name, root, counts, **args)
    assert not report['passed']
    assert len(report['cross_split_duplicates']) == 1
    assert any(m.startswith('same image in two splits: train:')
               for m in _fails(report))
    tolerated = check_dataset(name, root, counts, allow_duplicates=1, **args)
    assert tolerated['passed']


@pytest.mark.parametrize('layout', ['rafdb-official', 'affectnet8',
                                    'ferplus-csv'])
def test_official_counts_flag_a_tiny_copy(layout, tmp_path):
    name, build = LAYOUTS[layout]
    args, _ = build(str(tmp_path))
    report = check_dataset(name, str(tmp_path), **args)
    assert report['expected_source'] == 'official'
    assert not report['passed']
    assert any('official count is' in m for m in _fails(report))


def test_missing_and_unreadable_files(tmp_path):
    args, counts = rafdb_official(str(tmp_path))
    img_dir = tmp_path / 'Image' / 'aligned'
    os.remove(img_dir / 'train_00001_aligned.jpg')
    (img_dir / 'test_00001_aligned.jpg').write_bytes(b'not an image')
    report = check_dataset('rafdb', str(tmp_path), counts, **args)
    fails = _fails(report)
    assert any(m.startswith('missing: ') and 'train_00001' in m
               for m in fails)
    assert any(m.startswith('unreadable (12 bytes): ') for m in fails)


def test_class_order_and_expected_forms():
    order = class_order('rafdb', FER7_CLASSES)
    assert order[0] == dict(index=0, name='Anger', native_code=6)
    assert order[5] == dict(index=5, name='Surprise', native_code=1)
    assert class_order('affectnet8', FER8_CLASSES)[7]['native_code'] == 7
    assert normalise_expected({'train': 5}) == {'train': dict(total=5)}
    assert normalise_expected({'train': {'Anger': 2, 'Fear': 1}}) == {
        'train': dict(total=3, per_class={'Anger': 2, 'Fear': 1})}
    with pytest.raises(ValueError, match='must be a number or a dict'):
        normalise_expected({'train': 'many'})


def test_tool_exit_status(tmp_path, capsys):
    sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..',
                                'test_apis'))
    from mpa_world import load_tool
    tool = load_tool('dataset_check.py')
    root = tmp_path / 'data'
    args, counts = rafdb_folder(str(root))
    expected = tmp_path / 'counts.json'
    expected.write_text(json.dumps(counts))
    out = tmp_path / 'out'
    assert tool.main(['rafdb', str(root), '--expected', str(expected),
                      '--out-dir', str(out)]) == 0
    assert capsys.readouterr().out.rstrip().endswith('RESULT: PASS')
    assert (out / 'report.json').is_file()
    assert (out / 'rafdb_train_Anger.png').is_file()
    assert tool.main(['rafdb', str(root), '--out-dir', str(out)]) == 1
    text = capsys.readouterr().out
    assert 'FAIL: [train] 14 images, official count is 12271' in text
    assert text.rstrip().endswith('RESULT: FAIL (2 problem(s))')
