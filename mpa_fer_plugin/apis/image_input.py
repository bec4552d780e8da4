"""Images into the inference APIs: files, folders and arrays, checked.

Every inference path (``tools/infer.py``, :class:`~.face.FERPipeline`,
:class:`~.inferencer.MPAFERInferencer`, :func:`~.inference.
prepare_images`, the video tool) reads its inputs through
:func:`list_images` and :func:`load_image`, so what they accept is decided
here:

* A folder gives its images of the formats OpenCV decodes
  (:data:`IMG_EXTENSIONS`); every other file it holds is counted and named
  in a :class:`SkippedFilesWarning` (a GIF is not skipped silently).
  Hidden files and sub-folders are not considered.
* An array is turned into the ``H x W x 3`` BGR ``uint8`` image the
  detectors and the test pipeline expect: ``H x W`` and ``H x W x 1`` are
  replicated to 3 channels; integer arrays within 0-255 are cast; float
  arrays within [0, 1] are scaled by 255 and float arrays within [0, 255]
  rounded, each with an :class:`ImageInputWarning` saying what was assumed.
  An empty array, NaN or infinite values, values outside those ranges,
  other channel counts and other dtypes raise ``ValueError`` naming what
  was found (never an OpenCV assertion later on).
* An image whose short edge is far below the model input
  (:data:`SMALL_IMAGE_RATIO` of it, e.g. 1 x 1 px), or a detected face
  box that small, gives a
  :class:`SmallImageWarning` (:func:`warn_if_small`; the first per model,
  later ones are counted in ``model._num_small_images``), as
  ``LoadFERImage`` does for datasets.
"""
import os
import os.path as osp
import warnings
from typing import List, Optional, Tuple, Union

import mmcv
import numpy as np
from mmengine import fileio

#: File suffixes treated as images when a folder is given.
IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif',
                  '.tiff', '.webp')

#: Image formats OpenCV does not decode (named with a conversion hint).
OTHER_IMAGE_FORMATS = ('.gif', '.heic', '.heif', '.avif', '.svg', '.jxl',
                       '.jp2', '.ico', '.psd', '.raw', '.dng')

#: Short edge, as a fraction of the model's input size, below which an
#: input is reported as small (the threshold of ``LoadFERImage``).
SMALL_IMAGE_RATIO = 0.125

ImageInput = Union[str, np.ndarray]


class SkippedFilesWarning(UserWarning):
    """A folder holds files that are not read as images."""


class ImageInputWarning(UserWarning):
    """An image array was converted to BGR ``uint8``."""


class SmallImageWarning(UserWarning):
    """An input is far smaller than the model's input size."""


def _supported() -> str:
    return ', '.join(IMG_EXTENSIONS)


def _some(names: List[str], limit: int = 10) -> str:
    shown = ', '.join(names[:limit])
    return shown + (f' and {len(names) - limit} more'
                    if len(names) > limit else '')


def list_images(path: str) -> List[str]:
    """Return the image files of ``path`` (one file, or a folder's images).

    Files of a folder that are not images of a supported format are named
    in a :class:`SkippedFilesWarning`.

    Args:
        path (str): An image file or a folder (not searched recursively).

    Returns:
        list[str]: The image paths, sorted by name.
    """
    if osp.isdir(path):
        files, skipped = [], []
        for name in sorted(os.listdir(path)):
            if name.startswith('.') or not osp.isfile(osp.join(path, name)):
                continue
            if name.lower().endswith(IMG_EXTENSIONS):
                files.append(osp.join(path, name))
            else:
                skipped.append(name)
        others = [n for n in skipped
                  if n.lower().endswith(OTHER_IMAGE_FORMATS)]
        hint = (f' ({_some(others)}: image formats OpenCV does not decode; '
                'convert them to PNG or JPEG)' if others else '')
        if not files:
            raise ValueError(
                f'no images in the folder {path} (looked for files ending '
                f'in {_supported()})' + (
                    f'; it holds {len(skipped)} other file(s): '
                    f'{_some(skipped)}{hint}' if skipped else ''))
        if skipped:
            warnings.warn(
                f'{path}: skipped {len(skipped)} file(s) that are not images '
                f'of a supported format ({_supported()}): {_some(skipped)}'
                f'{hint}', SkippedFilesWarning, stacklevel=2)
        return files
    if not osp.isfile(path):
        raise FileNotFoundError(f'image file or folder not found: {path}')
    return [path]


def image_from_array(array: np.ndarray) -> np.ndarray:
    """An array as an ``H x W x 3`` BGR ``uint8`` image, or a clear error.

    Args:
        array (np.ndarray): ``H x W``, ``H x W x 1`` or ``H x W x 3`` (BGR),
            ``uint8``, another integer type within 0-255, or float within
            [0, 1] (scaled by 255) or [0, 255].

    Returns:
        np.ndarray: The image (the input itself if it was BGR ``uint8``).
    """
    img = np.asarray(array)
    if img.size == 0:
        raise ValueError(f'the image array is empty (shape {img.shape})')
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    if img.ndim != 3 or img.shape[2] != 3:
        extra = (' (drop the alpha channel: img[..., :3])'
                 if img.ndim == 3 and img.shape[2] == 4 else '')
        raise ValueError(f'an image array must be HxWx3 (BGR) or HxW, got '
                         f'shape {img.shape}{extra}')
    if img.dtype == np.uint8:
        return img
    if img.dtype == np.bool_ or not np.issubdtype(img.dtype, np.number) \
            or np.issubdtype(img.dtype, np.complexfloating):
        raise ValueError(f'an image array of dtype {img.dtype} is not '
                         'supported; pass BGR uint8 (0-255)')
    if np.issubdtype(img.dtype, np.floating):
        if not np.isfinite(img).all():
            raise ValueError(f'the {img.dtype} image array holds NaN or '
                             'infinite values')
        low, high = float(img.min()), float(img.max())
        if low >= 0 and high <= 1:
            warnings.warn(f'a {img.dtype} image array with values in '
                          '[0, 1] was scaled by 255 to uint8 (pass BGR '
                          'uint8 to avoid the conversion)',
                          ImageInputWarning, stacklevel=3)
            return np.rint(img * 255.0).astype(np.uint8)
        if low >= 0 and high <= 255:
            warnings.warn(f'a {img.dtype} image array with values in '
                          '[0, 255] was rounded to uint8 (pass BGR uint8 to '
                          'avoid the conversion)', ImageInputWarning,
                          stacklevel=3)
            return np.rint(img).astype(np.uint8)
        raise ValueError(
            f'a float image array must hold values in [0, 1] or [0, 255]; '
            f'this {img.dtype} array holds [{low:g}, {high:g}]')
    low, high = int(img.min()), int(img.max())
    if low < 0 or high > 255:
        raise ValueError(
            f'an integer image array must hold values in 0-255; this '
            f'{img.dtype} array holds [{low}, {high}] (scale 16-bit images '
            'to 8 bits first)')
    return img.astype(np.uint8)


def load_image(image: ImageInput) -> np.ndarray:
    """Read an image as a BGR ``uint8`` array, naming the file on failure.

    Args:
        image (str | np.ndarray): A path, or an array (see
            :func:`image_from_array`).

    Returns:
        np.ndarray: ``H x W x 3`` BGR image.
    """
    if isinstance(image, np.ndarray):
        return image_from_array(image)
    if not isinstance(image, (str, os.PathLike)):
        raise TypeError(f'image must be a path or a numpy array, got '
                        f'{type(image).__name__}')
    path = os.fspath(image)
    if not osp.isfile(path):
        raise FileNotFoundError(f'image file not found: {path}')
    data = fileio.get(path)
    suffix = osp.splitext(path)[1].lower()
    why = ('corrupt or not an image' if suffix in IMG_EXTENSIONS or
           not suffix else
           f'{suffix} is not a format OpenCV decodes ({_supported()}); '
           'convert it to PNG or JPEG')
    try:
        img = mmcv.imfrombytes(data, flag='color')
    except Exception as e:  # decoders raise many different types
        raise ValueError(f'cannot read image file {path} ({why}): '
                         f'{e}') from e
    if img is None or img.size == 0:
        raise ValueError(f'cannot read image file {path} ({why}, '
                         f'{len(data)} bytes)')
    return img


def model_input_size(model) -> Optional[int]:
    """The short side of the model's input images, if it can be told."""
    visual = getattr(getattr(model, 'backbone', None), 'visual', None)
    size = getattr(visual, 'image_size', None)
    if isinstance(size, (tuple, list)):
        size = min(size)
    return int(size) if size else None


def warn_if_small(model, img: Union[np.ndarray, Tuple[float, float]],
                  name: str = 'an input image') -> bool:
    """Warn if ``img`` is far smaller than the model's input.

    The first small input of a model gives a :class:`SmallImageWarning`
    naming it; later ones are counted in ``model._num_small_images``.

    Args:
        model (nn.Module): The model (its image tower gives the input
            size; without one nothing is checked).
        img (np.ndarray | tuple): The image as decoded, or its
            ``(height, width)`` (e.g. of a detected face box).
        name (str): Named in the warning.

    Returns:
        bool: Whether the image is small.
    """
    size = model_input_size(model)
    if size is None:
        return False
    threshold = SMALL_IMAGE_RATIO * size
    h, w = img.shape[:2] if hasattr(img, 'shape') else img
    h, w = int(round(float(h))), int(round(float(w)))
    if min(h, w) >= threshold:
        return False
    count = int(getattr(model, '_num_small_images', 0)) + 1
    try:
        model._num_small_images = count
    except AttributeError:  # pragma: no cover - frozen objects
        pass
    if count == 1:
        warnings.warn(
            f'{name} is {w}x{h} px, far smaller than the model input '
            f'{size}x{size} px (threshold {threshold:g} px on the short '
            'edge): it is upscaled, which loses detail, and its result is '
            'unreliable. Later small inputs of this model are counted, not '
            'reported.', SmallImageWarning, stacklevel=3)
    return True
