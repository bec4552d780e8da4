import os
import os.path as osp
from unittest import mock

import pytest
from mmpretrain.registry import DATASETS

from mpa_fer_plugin.datasets import FER7_CLASSES, FER8_CLASSES, RAFDB

# RAF-DB codes: 1 Surprise, 2 Fear, 3 Disgust, 4 Happiness, 5 Sadness,
# 6 Anger, 7 Neutral.
ENTRIES = [('train_00001.jpg', 1), ('train_00002.jpg', 4),
           ('train_00003.jpg', 7), ('test_0001.jpg', 6),
           ('test_0002.jpg', 2)]
LABEL_FILE = 'list_patition_label.txt'


def idx(name):
    return FER7_CLASSES.index(name)


def test_official_aligned(tmp_path, fer_data):
    root = fer_data.rafdb_official(str(tmp_path), ENTRIES, size=100)
    ds = DATASETS.build(dict(type='RAFDB', data_root=root, split='train'))
    assert isinstance(ds, RAFDB)
    assert len(ds) == 3
    assert ds.metainfo['classes'] == FER7_CLASSES
    assert [ds.get_data_info(i)['gt_label'] for i in range(3)] == [
        idx('Surprise'), idx('Happiness'), idx('Neutral')]
    assert ds.get_data_info(0)['img_path'].endswith(
        osp.join('Image', 'aligned', 'train_00001_aligned.jpg'))
    assert ds.metainfo['image_source'] == 'aligned'
    assert ds.metainfo['image_size'] == (100, 100)
    assert ds.metainfo['layout'] == 'official'
    test = RAFDB(root, split='test')
    assert [test.get_cat_ids(i) for i in range(2)] == [[idx('Anger')],
                                                       [idx('Fear')]]
    assert 'image_source' in repr(test)


def test_official_original_and_logging(tmp_path, fer_data):
    root = fer_data.rafdb_official(str(tmp_path), ENTRIES,
                                   image_source='original', size=20)
    with mock.patch('mpa_fer_plugin.datasets.base_fer.print_log') as log:
        ds = RAFDB(root, split='test', image_source='original')
    assert ds.get_data_info(1)['img_path'].endswith(
        osp.join('Image', 'original', 'test_0002.jpg'))
    assert ds.metainfo['image_source'] == 'original'
    assert ds.metainfo['image_size'] == (20, 20)
    message = log.call_args[0][0]
    assert 'image_source=original' in message and '(20, 20)' in message


def test_crlf_and_trailing_blank_lines(tmp_path, fer_data):
    root = fer_data.rafdb_official(str(tmp_path), ENTRIES, newline='\r\n',
                                   trailer='\r\n\r\n  \n')
    assert len(RAFDB(root, split='train')) == 3
    assert len(RAFDB(root, split='test')) == 2


def test_folder_layout_codes_and_names(tmp_path, fer_data):
    root = fer_data.rafdb_folder(str(tmp_path), {
        'train': {'1': 2, '4': 1, 'sad': 1, 'Neutral': 3},
        'test': {'6': 1}})
    open(osp.join(root, 'train', '4', 'notes.txt'), 'w').close()
    with mock.patch('mpa_fer_plugin.datasets.rafdb.print_log') as log:
        ds = RAFDB(root, split='train', layout='auto')
    assert 'notes.txt' in log.call_args[0][0]  # ignored, but reported
    assert ds.metainfo['layout'] == 'folder'
    assert ds.metainfo['image_source'] == 'folder'
    assert len(ds) == 7
    counts = dict(zip(FER7_CLASSES, ds.metainfo['class_counts']))
    assert counts == dict(Anger=0, Disgust=0, Fear=0, Sadness=1,
                          Happiness=1, Surprise=2, Neutral=3)
    test = RAFDB(root, split='test', layout='folder')
    assert test.get_cat_ids(0) == [idx('Anger')]


def test_folder_unknown_class_is_named(tmp_path, fer_data):
    root = fer_data.rafdb_folder(str(tmp_path), {'train': {'bored': 1}})
    with pytest.raises(ValueError, match='bored'):
        RAFDB(root, split='train')
    root2 = fer_data.rafdb_folder(str(tmp_path / 'b'), {'train': {'9': 1}})
    with pytest.raises(ValueError, match="'9'.*1..7"):
        RAFDB(root2, split='train')


def test_eight_classes_accept_contempt_code(tmp_path, fer_data):
    root = fer_data.rafdb_official(str(tmp_path),
                                   ENTRIES + [('train_00004.jpg', 8)])
    ds = RAFDB(root, split='train', num_classes=8)
    assert ds.metainfo['classes'] == FER8_CLASSES
    assert ds.get_cat_ids(3) == [FER8_CLASSES.index('Contempt')]
    with pytest.raises(ValueError, match=rf'{LABEL_FILE}, line 6.*1\.\.7'):
        RAFDB(root, split='train')


def test_missing_root_and_label_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='does_not_exist'):
        RAFDB(str(tmp_path / 'does_not_exist'))
    with pytest.raises(FileNotFoundError, match=LABEL_FILE):
        RAFDB(str(tmp_path), layout='official')
    with pytest.raises(FileNotFoundError, match='train/'):
        RAFDB(str(tmp_path))  # auto: neither layout present
    with pytest.raises(FileNotFoundError, match='split folder'):
        RAFDB(str(tmp_path), layout='folder')


@pytest.mark.parametrize('line,pattern', [
    ('train_00009.jpg 0', "line 3.*label '0'"),
    ('train_00009.jpg 8', "line 3.*label '8'"),
    ('train_00009.jpg happy', "line 3.*label 'happy'"),
    ('train_00009.jpg', 'line 3.*expected'),
    ('val_00009.jpg 1', 'line 3.*"train_"'),
    ('train_00001.jpg 2', 'line 3.*already listed on line 1'),
])
def test_bad_label_lines_name_file_and_line(tmp_path, fer_data, line,
                                            pattern):
    root = fer_data.rafdb_official(str(tmp_path), ENTRIES[:2])
    with open(osp.join(root, 'EmoLabel', LABEL_FILE), 'a') as f:
        f.write(line + '\n')
    with pytest.raises(ValueError, match=f'{LABEL_FILE}, {pattern}'):
        RAFDB(root, split='train')


def test_bad_arguments(tmp_path, fer_data):
    root = fer_data.rafdb_official(str(tmp_path), ENTRIES)
    with pytest.raises(ValueError, match="unknown split 'val'"):
        RAFDB(root, split='val')
    with pytest.raises(ValueError, match='image_source'):
        RAFDB(root, image_source='aligned_224')
    with pytest.raises(ValueError, match='layout'):
        RAFDB(root, layout='cub')
    with pytest.raises(ValueError, match='num_classes'):
        RAFDB(root, num_classes=6)
    with pytest.raises(ValueError, match='canonical'):
        RAFDB(root, metainfo=dict(classes=('a', 'b')))


def test_missing_image_error_and_skip(tmp_path, fer_data):
    root = fer_data.rafdb_official(str(tmp_path), ENTRIES)
    os.remove(osp.join(root, 'Image', 'aligned', 'train_00002_aligned.jpg'))
    with pytest.raises(FileNotFoundError,
                       match='1 image.*line 2: .*train_00002_aligned.jpg'):
        RAFDB(root, split='train')
    with mock.patch('mpa_fer_plugin.datasets.base_fer.print_log') as log:
        ds = RAFDB(root, split='train', skip_missing=True)
    assert len(ds) == 2
    assert ds.metainfo['num_missing_skipped'] == 1
    warning = log.call_args_list[0][0][0]
    assert 'skipped 1 missing' in warning and 'train_00002' in warning
    # without the check the loader names the file instead
    ds = RAFDB(root, split='train', check_files=False,
               pipeline=[dict(type='LoadFERImage')])
    with pytest.raises(FileNotFoundError, match='train_00002_aligned.jpg'):
        ds[1]


def test_corrupt_image_named_by_pipeline(tmp_path, fer_data):
    root = fer_data.rafdb_official(str(tmp_path), ENTRIES)
    bad = osp.join(root, 'Image', 'aligned', 'test_0002_aligned.jpg')
    with open(bad, 'wb') as f:
        f.write(b'not a jpeg')
    ds = RAFDB(root, split='test', test_mode=True,
               pipeline=[dict(type='LoadFERImage'), dict(type='PackInputs')])
    assert ds[0]['inputs'].shape == (3, 8, 8)
    with pytest.raises(ValueError, match='test_0002_aligned.jpg'):
        ds[1]


def test_empty_split_is_an_error(tmp_path, fer_data):
    root = fer_data.rafdb_official(str(tmp_path), ENTRIES[:3])
    with pytest.raises(ValueError, match="split 'test'.*empty"):
        RAFDB(root, split='test')


def test_relative_data_root(tmp_path, fer_data, monkeypatch):
    fer_data.rafdb_official(str(tmp_path / 'data' / 'rafdb'), ENTRIES)
    fer_data.rafdb_folder(str(tmp_path / 'data' / 'kaggle'),
                          {'train': {'3': 2}})
    monkeypatch.chdir(tmp_path)
    assert len(RAFDB(osp.join('data', 'rafdb'), split='test')) == 2
    assert len(RAFDB(osp.join('data', 'kaggle'), split='train')) == 2
