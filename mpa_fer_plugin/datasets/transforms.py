"""Data transforms for the FER datasets."""
from typing import Optional

import mmcv
import numpy as np
from mmcv.transforms import LoadImageFromFile
from mmengine import fileio
from mmpretrain.registry import TRANSFORMS


@TRANSFORMS.register_module()
class LoadFERImage(LoadImageFromFile):
    """Load a face image from a file or from memory, naming bad files.

    A drop-in replacement for ``LoadImageFromFile`` at the head of every
    `MPA-FER <https://arxiv.org/abs/2506.21017>`_ data pipeline:

    - If the data info already holds an ``img`` array (FERPlus read from
      ``fer2013.csv`` keeps the decoded 48x48 pixels in memory), that array
      is used; a grayscale array is replicated to 3 channels for
      ``color_type='color'``.
    - Otherwise ``img_path`` is read. A missing file raises
      ``FileNotFoundError`` and an undecodable (corrupt) file raises
      ``ValueError``, both naming the path, instead of mmcv's bare
      ``AssertionError``. Broken files are never skipped silently.

    Args:
        to_float32 (bool): Convert the image to ``float32``.
            Defaults to ``False``.
        color_type (str): ``'color'``, ``'grayscale'`` or ``'unchanged'``,
            as in :func:`mmcv.imfrombytes`. Defaults to ``'color'``.
        imdecode_backend (str): Decoding backend. Defaults to ``'cv2'``.
        backend_args (dict, optional): File backend arguments.
            Defaults to ``None``.
    """

    def __init__(self,
                 to_float32: bool = False,
                 color_type: str = 'color',
                 imdecode_backend: str = 'cv2',
                 backend_args: Optional[dict] = None) -> None:
        if color_type not in ('color', 'grayscale', 'unchanged'):
            raise ValueError(f'color_type={color_type!r} must be "color", '
                             '"grayscale" or "unchanged"')
        super().__init__(
            to_float32=to_float32,
            color_type=color_type,
            imdecode_backend=imdecode_backend,
            backend_args=backend_args)

    def _from_memory(self, img: np.ndarray) -> np.ndarray:
        img = np.asarray(img)
        if img.ndim == 3 and img.shape[2] == 1:
            img = img[..., 0]
        if self.color_type == 'color' and img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=2)
        elif self.color_type == 'grayscale' and img.ndim == 3:
            img = mmcv.bgr2gray(img)
        return np.ascontiguousarray(img)

    def _from_file(self, path: str) -> np.ndarray:
        try:
            img_bytes = fileio.get(path, backend_args=self.backend_args)
        except FileNotFoundError as e:
            raise FileNotFoundError(f'image file not found: {path}') from e
        except OSError as e:
            raise OSError(f'cannot read image file {path}: {e}') from e
        try:
            img = mmcv.imfrombytes(
                img_bytes, flag=self.color_type,
                backend=self.imdecode_backend)
        except Exception as e:  # decoders raise many different types
            raise ValueError(f'cannot decode image file {path} (corrupt or '
                             f'not an image): {e}') from e
        if img is None:
            raise ValueError(f'cannot decode image file {path} (corrupt or '
                             f'not an image, {len(img_bytes)} bytes)')
        return img

    def transform(self, results: dict) -> dict:
        """Load the image into ``results['img']``.

        Args:
            results (dict): A data info from a FER dataset.

        Returns:
            dict: ``results`` with ``img``, ``img_shape`` and ``ori_shape``.
        """
        if results.get('img') is not None:
            img = self._from_memory(results['img'])
        elif results.get('img_path'):
            img = self._from_file(results['img_path'])
        else:
            raise KeyError('LoadFERImage needs "img" or "img_path" in the '
                           f'data info, got keys {sorted(results)}')
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(to_float32={self.to_float32}, '
                f'color_type={self.color_type!r}, '
                f'imdecode_backend={self.imdecode_backend!r})')
