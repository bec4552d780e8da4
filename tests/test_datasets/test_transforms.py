import os.path as osp

import numpy as np
import pytest
from mmpretrain.registry import TRANSFORMS

import mpa_fer_plugin.datasets  # noqa: F401  (registers LoadFERImage)
from mpa_fer_plugin.datasets.transforms import LoadFERImage


def test_built_from_registry_and_loads_file(tmp_path, fer_data):
    path = fer_data.write_image(str(tmp_path / 'a.png'), size=10)
    t = TRANSFORMS.build(dict(type='LoadFERImage'))
    assert isinstance(t, LoadFERImage)
    out = t(dict(img_path=path))
    assert out['img'].shape == (10, 10, 3)
    assert out['img'].dtype == np.uint8
    assert out['img_shape'] == out['ori_shape'] == (10, 10)
    out = LoadFERImage(to_float32=True, color_type='grayscale')(
        dict(img_path=path))
    assert out['img'].shape == (10, 10) and out['img'].dtype == np.float32


def test_in_memory_gray_image_becomes_three_channels():
    gray = np.arange(48 * 48, dtype=np.uint8).reshape(48, 48)
    out = LoadFERImage()(dict(img=gray, img_path='fer2013.csv#L2'))
    assert out['img'].shape == (48, 48, 3)
    assert (out['img'][..., 0] == gray).all()
    assert (out['img'][..., 2] == gray).all()
    out = LoadFERImage(color_type='grayscale')(
        dict(img=np.repeat(gray[..., None], 3, 2)))
    assert out['img'].shape == (48, 48)


def test_missing_file_is_named(tmp_path):
    path = str(tmp_path / 'gone.jpg')
    with pytest.raises(FileNotFoundError, match='gone.jpg'):
        LoadFERImage()(dict(img_path=path))


def test_corrupt_file_is_named(tmp_path):
    path = tmp_path / 'broken_aligned.jpg'
    path.write_bytes(b'\xff\xd8\xff\xe0 definitely not a jpeg')
    with pytest.raises(ValueError, match='broken_aligned.jpg'):
        LoadFERImage()(dict(img_path=str(path)))
    empty = tmp_path / 'empty.png'
    empty.write_bytes(b'')
    with pytest.raises(ValueError, match=osp.basename(str(empty))):
        LoadFERImage()(dict(img_path=str(empty)))


def test_bad_arguments():
    with pytest.raises(ValueError, match='color_type'):
        LoadFERImage(color_type='rgb')
    with pytest.raises(KeyError, match='img_path'):
        LoadFERImage()(dict(gt_label=0))
    assert 'LoadFERImage' in repr(LoadFERImage())
