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


# ------------------------------------------- small images
def test_tiny_image_warns_once_naming_the_file(tmp_path, monkeypatch):
    import cv2

    import mpa_fer_plugin.datasets.transforms as transforms
    logged = []
    monkeypatch.setattr(transforms, 'print_log',
                        lambda msg, **kw: logged.append((msg, kw)))
    tiny = str(tmp_path / 'tiny.png')
    cv2.imwrite(tiny, np.full((1, 1, 3), 128, np.uint8))
    face = str(tmp_path / 'face.png')
    cv2.imwrite(face, np.zeros((48, 48, 3), np.uint8))
    load = TRANSFORMS.build(dict(type='LoadFERImage'))
    load.transform(dict(img_path=tiny))  # input size unknown: no check
    assert logged == []
    load.input_size = (64, 64)  # what MPADataSeedHook fills in
    for _ in range(3):
        load.transform(dict(img_path=tiny))
    assert load.num_small_images == 3 and len(logged) == 1
    assert 'tiny.png is 1x1 px' in logged[0][0]
    assert logged[0][1]['level'] == 30  # WARNING
    big_model = TRANSFORMS.build(dict(type='LoadFERImage',
                                      input_size=224))
    big_model.transform(dict(img_path=face))  # FERPlus' 48 px at 224: ok
    assert big_model.num_small_images == 0
    explicit = TRANSFORMS.build(dict(type='LoadFERImage', min_size=64))
    explicit.transform(dict(img=np.zeros((48, 48), np.uint8),
                            sample_idx=5))
    assert 'sample 5 (in memory)' in logged[-1][0]


def test_model_input_size_from_clip_tower():
    import open_clip

    from mpa_fer_plugin.engine.hooks import model_input_size
    visual = open_clip.transformer.VisionTransformer(
        image_size=32, patch_size=16, width=32, layers=1, heads=2,
        mlp_ratio=2.0, output_dim=16)
    assert model_input_size(visual) == (32, 32)


# -------------------------------------- per-sample augmentation seeds (case 4)
def test_augmentation_is_a_function_of_seed_epoch_and_sample():
    from mmcv.transforms import Compose

    from mpa_fer_plugin.datasets.transforms import (
        clear_augmentation_epoch,
        set_augmentation_epoch,
    )
    img = np.random.RandomState(0).randint(0, 255, (40, 40, 3), np.uint8)
    pipe = Compose([
        TRANSFORMS.build(dict(type='LoadFERImage')),
        TRANSFORMS.build(dict(type='RandomResizedCrop', scale=16,
                              backend='pillow')),
        TRANSFORMS.build(dict(type='RandomFlip', prob=0.5))])

    def run(epoch, idx):
        set_augmentation_epoch(7, epoch)
        np.random.seed(idx * 1000 + epoch)  # whatever came before
        return pipe(dict(img=img.copy(), sample_idx=idx))['img']

    try:
        first = [run(e, i) for e in range(2) for i in range(4)]
        again = [run(e, i) for e in range(2) for i in range(4)]
        assert all(np.array_equal(a, b) for a, b in zip(first, again))
        # ... and still random: epochs and samples differ.
        assert not np.array_equal(first[0], first[4])
        assert not np.array_equal(first[0], first[1])
    finally:
        clear_augmentation_epoch()
