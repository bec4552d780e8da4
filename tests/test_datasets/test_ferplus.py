import os.path as osp

import numpy as np
import pytest
from mmpretrain.registry import DATASETS

from mpa_fer_plugin.datasets import FER8_CLASSES, FERPlus
from mpa_fer_plugin.datasets.ferplus import majority_label, probability_label

#       neu hap sur sad ang dis fea con unk NF
NEUTRAL = [6, 2, 1, 1, 0, 0, 0, 0, 0, 0]  # singles zeroed: 6 of 8
TIE = [4, 4, 1, 0, 0, 0, 0, 0, 1, 0]  # 4 is not > 0.5 * 8: unknown
HAPPY = [0, 9, 0, 0, 0, 0, 0, 0, 1, 0]
FEAR = [0, 0, 3, 0, 0, 0, 7, 0, 0, 0]
NOT_FACE = [0, 0, 0, 0, 0, 0, 0, 0, 0, 10]
UNKNOWN = [2, 0, 0, 0, 0, 0, 0, 0, 8, 0]
CONTEMPT = [3, 0, 0, 0, 0, 0, 0, 7, 0, 0]


def canon(name):
    return FER8_CLASSES.index(name)


@pytest.mark.parametrize('votes,expected', [
    (NEUTRAL, 0), (TIE, None), (HAPPY, 1), (FEAR, 6), (NOT_FACE, None),
    (UNKNOWN, None), (CONTEMPT, 7), ([1] * 10, None), ([0] * 10, None),
    ([0, 2, 0, 0, 0, 0, 0, 0, 0, 1], 1), ([0, 5, 0, 0, 0, 0, 0, 0, 0, 5],
                                          None)])
def test_majority_rule(votes, expected):
    assert majority_label(votes) == expected


def test_probability_rule():
    np.testing.assert_allclose(probability_label(NEUTRAL),
                               [0.75, 0.25, 0, 0, 0, 0, 0, 0])
    np.testing.assert_allclose(probability_label(TIE),
                               [0.5, 0.5, 0, 0, 0, 0, 0, 0])
    np.testing.assert_allclose(probability_label(FEAR),
                               [0, 0, 0.3, 0, 0, 0, 0.7, 0])
    assert probability_label(NOT_FACE) is None
    assert probability_label(UNKNOWN) is None  # unknown outvotes emotions
    assert probability_label([1] * 10) is None


ROWS = [('Training', 'fer0000000.png', NEUTRAL),
        ('Training', 'fer0000001.png', TIE),
        ('Training', '', HAPPY),  # removed non-face: no image name
        ('Training', 'fer0000003.png', FEAR),
        ('PublicTest', 'fer0000004.png', HAPPY),
        ('PrivateTest', 'fer0000005.png', CONTEMPT),
        ('PrivateTest', 'fer0000006.png', NOT_FACE)]


def test_csv_majority(tmp_path, fer_data):
    root = fer_data.ferplus_csv(str(tmp_path), ROWS)
    ds = DATASETS.build(
        dict(type='FERPlus', data_root=root, split='train',
             pipeline=[dict(type='LoadFERImage'), dict(type='PackInputs')]))
    assert isinstance(ds, FERPlus) and ds.metainfo['classes'] == FER8_CLASSES
    assert len(ds) == 2  # TIE dropped, empty name skipped
    assert ds.metainfo['num_dropped'] == 2
    info = ds.get_data_info(1)
    assert info['gt_label'] == canon('Fear')
    assert info['img'].shape == (48, 48) and info['img'].dtype == np.uint8
    assert (info['img'] == 3).all()  # pixel row 3
    assert info['img_name'] == 'fer0000003.png'
    assert info['img_path'].endswith('fer2013.csv#L5')
    packed = ds[0]
    assert packed['inputs'].shape == (3, 48, 48)
    assert packed['data_samples'].gt_label.item() == canon('Neutral')
    val = FERPlus(root, split='val')
    assert [val.get_cat_ids(0)] == [[canon('Happiness')]]
    test = FERPlus(root, split='test')
    assert len(test) == 1 and test.get_cat_ids(0) == [canon('Contempt')]


def test_csv_probability(tmp_path, fer_data):
    root = fer_data.ferplus_csv(str(tmp_path), ROWS, newline='\r\n')
    ds = FERPlus(root, split='train', label_mode='probability',
                 pipeline=[dict(type='LoadFERImage'), dict(type='PackInputs')])
    assert len(ds) == 3  # TIE kept as a 50/50 soft label
    score = ds.get_data_info(1)['gt_score']
    assert score.shape == (8, ) and score.dtype == np.float32
    assert score[canon('Neutral')] == pytest.approx(0.5)
    assert score[canon('Happiness')] == pytest.approx(0.5)
    first = ds.get_data_info(0)
    assert first['gt_score'][canon('Happiness')] == pytest.approx(0.25)
    assert first['gt_label'] == canon('Neutral')
    sample = ds[2]['data_samples']
    assert sample.gt_score.sum().item() == pytest.approx(1.0)
    assert sample.gt_label.item() == canon('Fear')


def test_folder_layout(tmp_path, fer_data):
    root = str(tmp_path)
    fer_data.ferplus_folder(root, 'FER2013Train', [
        ('fer0000000.png', NEUTRAL), ('fer0000001.png', TIE),
        ('fer0000002.png', CONTEMPT)])
    fer_data.ferplus_folder(root, 'FER2013Valid', [('fer0000003.png', HAPPY)])
    ds = FERPlus(root, split='train',
                 pipeline=[dict(type='LoadFERImage'), dict(type='PackInputs')])
    assert ds.metainfo['layout'] == 'folder'
    assert [ds.get_cat_ids(i)[0] for i in range(len(ds))] == [
        canon('Neutral'), canon('Contempt')]
    assert ds.get_data_info(1)['img_path'] == osp.join(
        root, 'FER2013Train', 'fer0000002.png')
    assert ds[0]['inputs'].shape == (3, 48, 48)
    assert len(FERPlus(root, split='val')) == 1
    with pytest.raises(FileNotFoundError, match='FER2013Test'):
        FERPlus(root, split='test')


def test_folder_bad_rows_and_missing_images(tmp_path, fer_data):
    root = str(tmp_path)
    fer_data.ferplus_folder(root, 'FER2013Train', [
        ('fer0000000.png', NEUTRAL), ('fer0000001.png', HAPPY[:9])])
    with pytest.raises(ValueError, match=r'label.csv, line 2: expected'):
        FERPlus(root)
    fer_data.ferplus_folder(root, 'FER2013Train', [
        ('fer0000000.png', NEUTRAL), ('fer0000001.png', ['x'] * 10)])
    with pytest.raises(ValueError, match=r'label.csv, line 2: expected 10'):
        FERPlus(root)
    fer_data.ferplus_folder(root, 'FER2013Valid', [
        ('fer0000008.png', NEUTRAL), ('fer0000009.png', HAPPY)], images=False)
    fer_data.write_image(osp.join(root, 'FER2013Valid', 'fer0000008.png'))
    with pytest.raises(FileNotFoundError, match='line 2: .*fer0000009.png'):
        FERPlus(root, split='val')
    assert len(FERPlus(root, split='val', skip_missing=True)) == 1


def test_row_count_mismatch_names_both_files(tmp_path, fer_data):
    root = fer_data.ferplus_csv(str(tmp_path), ROWS, extra_pixel_rows=2)
    with pytest.raises(ValueError, match=r'fer2013.csv has 9 data rows but '
                       r'\S*fer2013new.csv has 7'):
        FERPlus(root, split='test')


def test_usage_disagreement_and_bad_pixels(tmp_path, fer_data):
    pixels = [fer_data.pixel_string(0)] * len(ROWS)
    pixels[3] = fer_data.pixel_string(7, n=100)
    root = fer_data.ferplus_csv(str(tmp_path / 'a'), ROWS, pixels=pixels)
    with pytest.raises(ValueError, match=r'fer2013.csv, line 5: expected '
                       r'2304 pixel values in 0..255, got 100'):
        FERPlus(root)
    pixels[3] = fer_data.pixel_string(256)
    root = fer_data.ferplus_csv(str(tmp_path / 'b'), ROWS, pixels=pixels)
    with pytest.raises(ValueError, match='fer2013.csv, line 5: .*256'):
        FERPlus(root)
    rows = list(ROWS)
    rows[1] = ('Validation', 'fer0000001.png', TIE)
    root = fer_data.ferplus_csv(str(tmp_path / 'c'), rows)
    with pytest.raises(ValueError, match="fer2013new.csv, line 3: unknown "
                       "Usage 'Validation'"):
        FERPlus(root)
    root = fer_data.ferplus_csv(str(tmp_path / 'd'), ROWS)
    text = open(osp.join(root, 'fer2013.csv')).read()
    with open(osp.join(root, 'fer2013.csv'), 'w') as f:
        f.write(text.replace('PublicTest', 'Training'))
    with pytest.raises(ValueError, match='rows disagree: .*fer2013.csv, '
                       "line 6 has Usage 'Training'"):
        FERPlus(root, split='val')


def test_missing_files_and_arguments(tmp_path, fer_data):
    with pytest.raises(FileNotFoundError, match='fer2013new.csv'):
        FERPlus(str(tmp_path))
    root = fer_data.ferplus_csv(str(tmp_path / 'ok'), ROWS)
    with pytest.raises(FileNotFoundError, match='fer2013new_v2.csv'):
        FERPlus(root, layout='csv', ferplus_csv='fer2013new_v2.csv')
    with pytest.raises(ValueError, match="unknown split 'PublicTest'"):
        FERPlus(root, split='PublicTest')
    with pytest.raises(ValueError, match='label_mode'):
        FERPlus(root, label_mode='crossentropy')
    with pytest.raises(ValueError, match='layout'):
        FERPlus(root, layout='npy')
    with open(osp.join(root, 'fer2013.csv'), 'w') as f:
        f.write('emotion,pix,Usage\n')
    with pytest.raises(ValueError, match=r"fer2013.csv, line 1: header "
                       r"lacks columns \['pixels'\]"):
        FERPlus(root)


def test_relative_data_root(tmp_path, fer_data, monkeypatch):
    fer_data.ferplus_csv(str(tmp_path / 'data' / 'ferplus'), ROWS)
    monkeypatch.chdir(tmp_path)
    ds = FERPlus(osp.join('data', 'ferplus'), split='test')
    assert len(ds) == 1
    assert ds.ann_file == osp.join('data', 'ferplus', 'fer2013new.csv')
