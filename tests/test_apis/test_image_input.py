"""apis/image_input.py: folders, files and arrays into the inference APIs."""
import os.path as osp

import cv2
import numpy as np
import pytest
from mpa_world import load_tool

from mpa_fer_plugin.apis.image_input import (
    ImageInputWarning,
    SkippedFilesWarning,
    SmallImageWarning,
    image_from_array,
    list_images,
    load_image,
    warn_if_small,
)


def _astronaut():
    from skimage import data
    return np.ascontiguousarray(data.astronaut()[:, :, ::-1])


def test_folder_names_the_files_it_skips(tmp_path):
    cv2.imwrite(str(tmp_path / 'a.png'), np.zeros((8, 8, 3), np.uint8))
    (tmp_path / 'anim.gif').write_bytes(b'GIF89a' + b'\0' * 20)
    (tmp_path / 'notes.txt').write_text('x')
    (tmp_path / '.DS_Store').write_bytes(b'\0')
    (tmp_path / 'sub').mkdir()
    with pytest.warns(SkippedFilesWarning) as record:
        files = list_images(str(tmp_path))
    assert [osp.basename(f) for f in files] == ['a.png']
    msg = str(record[0].message)
    assert 'skipped 2 file(s)' in msg and 'anim.gif, notes.txt' in msg
    assert 'convert them to PNG or JPEG' in msg and '.DS_Store' not in msg
    gifs = tmp_path / 'gifs'
    gifs.mkdir()
    (gifs / 'only.gif').write_bytes(b'GIF89a')
    with pytest.raises(ValueError, match=r'no images in the folder .*gifs.*'
                       r'1 other file\(s\): only.gif.*convert'):
        list_images(str(gifs))
    with pytest.raises(ValueError, match=r'anim.gif \(.gif is not a format '
                       'OpenCV decodes'):
        load_image(str(tmp_path / 'anim.gif'))


def test_arrays_converted_or_refused():
    rng = np.random.default_rng(0)
    unit = rng.random((6, 5, 3))
    with pytest.warns(ImageInputWarning, match=r'\[0, 1\] was scaled'):
        img = load_image(unit)
    assert img.dtype == np.uint8 and img.shape == (6, 5, 3)
    np.testing.assert_array_equal(img, np.rint(unit * 255))
    with pytest.warns(ImageInputWarning, match=r'\[0, 255\] was rounded'):
        assert load_image(unit * 200).max() <= 200
    gray = image_from_array(np.full((4, 3, 1), 7, np.uint16))
    assert gray.shape == (4, 3, 3) and gray.dtype == np.uint8
    refused = {
        r'empty \(shape \(0, 0, 3\)\)': np.zeros((0, 0, 3), np.uint8),
        r'holds \[-1, 1\]': np.linspace(-1, 1, 12).reshape(2, 2, 3),
        'NaN or infinite': np.full((2, 2, 3), np.nan, np.float32),
        r'uint16 array holds \[0, 4095\].*16-bit': np.array(
            [[[0, 4095, 3]]], np.uint16),
        'dtype bool': np.ones((2, 2, 3), bool),
        r'\(2, 2, 4\) \(drop the alpha channel': np.zeros((2, 2, 4),
                                                          np.uint8),
    }
    for match, array in refused.items():
        with pytest.raises(ValueError, match=match):
            load_image(array)
    same = np.zeros((3, 3, 3), np.uint8)
    assert load_image(same) is same


def test_pipeline_on_float_and_empty_arrays(infer_model):
    """A [0, 1] float photo finds the same face as its uint8 original."""
    from mpa_fer_plugin.apis.face import FERPipeline
    pipe = FERPipeline(model=infer_model, detector='haar', topk=1)
    photo = _astronaut()
    expected = pipe(photo)
    assert len(expected) == 1
    with pytest.warns(ImageInputWarning):
        got = pipe(photo.astype(np.float32) / 255)
    assert [r['box'] for r in got] == [r['box'] for r in expected]
    with pytest.raises(ValueError, match='image array is empty'):
        pipe(np.zeros((0, 10, 3), np.uint8))


def test_small_image_warns_in_every_path(infer_world, infer_model,
                                         tmp_path):
    from mpa_fer_plugin.apis import MPAFERInferencer, prepare_images

    class Model:  # a fresh counter per check
        backbone = infer_model.backbone

    tiny = np.full((1, 1, 3), 128, np.uint8)
    model = Model()
    with pytest.warns(SmallImageWarning, match=r'1x1 px.*32x32'):
        assert warn_if_small(model, tiny, 'x.png')
    assert warn_if_small(model, tiny) and model._num_small_images == 2
    assert not warn_if_small(Model(), np.zeros((4, 4, 3), np.uint8))
    infer_model._num_small_images = 0  # shared by the session
    with pytest.warns(SmallImageWarning):
        MPAFERInferencer(infer_model)(tiny)
    infer_model._num_small_images = 0
    with pytest.warns(SmallImageWarning):
        prepare_images(infer_model, [tiny])
    infer_model._num_small_images = 0
    path = tmp_path / 'one_px.png'
    cv2.imwrite(str(path), tiny)
    infer = load_tool('infer.py')
    with pytest.warns(SmallImageWarning, match='1x1 px'):
        results = infer.main([str(path), infer_world['config'],
                              infer_world['ckpt'], '--no-detect'])
    assert len(results) == 1



def test_tiny_detected_face_warns(infer_model):
    """With detection, a face box far below the model input warns too."""
    from mpa_fer_plugin.apis.face import FERPipeline

    class TinyFace:
        def detect(self, image):
            return np.array([[10, 10, 12, 13]], np.float32), None, None

    pipe = FERPipeline(model=infer_model, detector=TinyFace())
    infer_model._num_small_images = 0
    with pytest.warns(SmallImageWarning, match='a detected face is 2x3 px'):
        assert len(pipe(np.full((64, 64, 3), 90, np.uint8))) == 1
