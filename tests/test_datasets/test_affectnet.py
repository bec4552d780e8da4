import os.path as osp
from unittest import mock

import pytest
from mmengine.dataset import ClassBalancedDataset
from mmengine.registry import DefaultScope
from mmpretrain.registry import DATASETS

from mpa_fer_plugin.datasets import FER7_CLASSES, FER8_CLASSES, AffectNet

# codes: 0 Neutral 1 Happiness 2 Sadness 3 Surprise 4 Fear 5 Disgust
# 6 Anger 7 Contempt 8 None 9 Uncertain 10 No-Face
ROWS = [('1/a.jpg', '0'), ('1/b.jpg', '1'), ('2/c.jpg', '6'),
        ('2/d.jpg', '7'), ('3/e.jpg', '8'), ('3/f.jpg', '10'),
        ('3/g.jpg', '1')]


def test_seven_and_eight_classes(tmp_path, fer_data):
    root = fer_data.affectnet(str(tmp_path), ROWS)
    with mock.patch('mpa_fer_plugin.datasets.affectnet.print_log') as log:
        ds7 = DATASETS.build(dict(type='AffectNet', data_root=root))
    assert isinstance(ds7, AffectNet)
    assert ds7.metainfo['classes'] == FER7_CLASSES
    labels = [ds7.get_cat_ids(i)[0] for i in range(len(ds7))]
    assert labels == [FER7_CLASSES.index(n) for n in
                      ('Neutral', 'Happiness', 'Anger', 'Happiness')]
    assert ds7.metainfo['num_dropped'] == 3
    assert 'dropped 3 rows' in log.call_args[0][0]
    assert '7: 1, 8: 1, 10: 1' in log.call_args[0][0]
    assert ds7.get_data_info(0)['img_path'] == osp.join(
        root, 'Manually_Annotated_Images', '1/a.jpg')

    ds8 = AffectNet(root, num_classes=8)
    assert ds8.metainfo['classes'] == FER8_CLASSES
    assert len(ds8) == 5 and ds8.metainfo['num_dropped'] == 2
    assert ds8.get_cat_ids(3) == [FER8_CLASSES.index('Contempt')]


def test_validation_serves_val_and_test(tmp_path, fer_data):
    root = fer_data.affectnet(str(tmp_path), ROWS[:3],
                              csv_name='validation.csv',
                              subdir='Manually_Annotated_file_lists')
    for split in ('val', 'test'):
        ds = AffectNet(root, split=split)
        assert ds.ann_file.endswith(osp.join('Manually_Annotated_file_lists',
                                             'validation.csv'))
        assert len(ds) == 3
    with pytest.raises(FileNotFoundError, match='training.csv'):
        AffectNet(root, split='train')


def test_headerless_csv_in_standard_order(tmp_path, fer_data):
    root = fer_data.affectnet(str(tmp_path), ROWS[:2], header=False)
    assert len(AffectNet(root)) == 2


@pytest.mark.parametrize('line,pattern', [
    ('1/x.jpg,1,2,3,4,5,1', 'line 3: expected 9 .*got 7'),
    ('1/x.jpg,1,2,3,4,5;6,eleven,0,0', "line 3: expression 'eleven'"),
    ('1/x.jpg,1,2,3,4,5;6,11,0,0', "line 3: expression '11'.*0..10"),
    (',1,2,3,4,5;6,1,0,0', 'line 3: empty image path'),
])
def test_malformed_rows_name_file_and_line(tmp_path, fer_data, line,
                                           pattern):
    root = fer_data.affectnet(str(tmp_path), ROWS[:1])
    with open(osp.join(root, 'training.csv'), 'a') as f:
        f.write(line + '\n\n')
    with pytest.raises(ValueError, match=f'training.csv, {pattern}'):
        AffectNet(root)


def test_bad_header_and_arguments(tmp_path, fer_data):
    root = fer_data.affectnet(str(tmp_path), ROWS[:2])
    with pytest.raises(ValueError, match="unknown split 'dev'"):
        AffectNet(root, split='dev')
    with pytest.raises(ValueError, match='num_classes=11'):
        AffectNet(root, num_classes=11)
    with open(osp.join(root, 'bad.csv'), 'w') as f:
        f.write('path,label\n1/a.jpg,0\n')
    with pytest.raises(ValueError, match='bad.csv, line 1: expected the '
                       'header'):
        AffectNet(root, ann_file='bad.csv')
    with pytest.raises(FileNotFoundError, match='nowhere'):
        AffectNet(str(tmp_path / 'nowhere'))


def test_missing_image(tmp_path, fer_data):
    root = fer_data.affectnet(str(tmp_path), ROWS[:3])
    fer_data.affectnet(str(tmp_path), ROWS[:3] + [('9/missing.jpg', '2')],
                       images=False)
    with pytest.raises(FileNotFoundError, match='line 5: .*missing.jpg'):
        AffectNet(root)
    ds = AffectNet(root, skip_missing=True)
    assert len(ds) == 3 and ds.metainfo['num_missing_skipped'] == 1


def test_class_balanced_dataset(tmp_path, fer_data):
    rows = [(f'0/n{i}.jpg', '0') for i in range(18)] + [('1/h.jpg', '1'),
                                                        ('6/a.jpg', '6')]
    root = fer_data.affectnet(str(tmp_path), rows)
    ds = AffectNet(root)
    balanced = ClassBalancedDataset(ds, oversample_thr=0.5)
    labels = [balanced.get_cat_ids(i)[0] for i in range(len(balanced))]
    neutral = FER7_CLASSES.index('Neutral')
    # frequency 1/20 < 0.5 -> repeat factor ceil(sqrt(0.5 / 0.05)) = 4
    assert labels.count(neutral) == 18
    assert labels.count(FER7_CLASSES.index('Happiness')) == 4
    assert labels.count(FER7_CLASSES.index('Anger')) == 4
    # the documented config form, built in mmpretrain's scope
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        cfg_built = DATASETS.build(
            dict(type='ClassBalancedDataset', oversample_thr=0.5,
                 dataset=dict(type='AffectNet', data_root=root)))
    assert len(cfg_built) == len(balanced)


def test_relative_data_root(tmp_path, fer_data, monkeypatch):
    fer_data.affectnet(str(tmp_path / 'data' / 'affectnet'), ROWS[:3])
    monkeypatch.chdir(tmp_path)
    ds = AffectNet(osp.join('data', 'affectnet'))
    assert len(ds) == 3
    assert ds.backend.isfile(ds.get_data_info(0)['img_path'])
