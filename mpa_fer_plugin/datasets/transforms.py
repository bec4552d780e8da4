"""Data transforms for the FER datasets."""
import logging
import multiprocessing
import random
from typing import Optional, Sequence, Union

import mmcv
import numpy as np
from mmcv.transforms import LoadImageFromFile
from mmengine import fileio
from mmengine.logging import print_log
from mmpretrain.registry import TRANSFORMS

#: ``(active, seed, epoch)`` of the running training epoch, in shared
#: memory so that forked (also persistent) data workers see updates. Set by
#: :class:`~mpa_fer_plugin.engine.hooks.MPADataSeedHook`.
_AUG_STATE = multiprocessing.RawArray('q', 3)


def set_augmentation_epoch(seed: int, epoch: int) -> None:
    """Seed the pipelines' randomness per sample from ``(seed, epoch)``.

    Args:
        seed (int): The run's seed.
        epoch (int): The 0-based training epoch.
    """
    _AUG_STATE[1] = int(seed) % 2**63
    _AUG_STATE[2] = int(epoch)
    _AUG_STATE[0] = 1


def clear_augmentation_epoch() -> None:
    """Stop per-sample seeding."""
    _AUG_STATE[0] = 0


def seed_sample(sample_idx: int) -> bool:
    """Seed ``numpy`` and ``random`` for one sample of the current epoch.

    The seed is a function of ``(seed, epoch, sample_idx)`` only, so the
    random transforms that follow draw the same values in any process,
    worker or rank, and after a resume.

    Args:
        sample_idx (int): The dataset index of the sample.

    Returns:
        bool: Whether an epoch is set (otherwise nothing is seeded).
    """
    if not _AUG_STATE[0]:
        return False
    state = np.random.SeedSequence(
        [_AUG_STATE[1], _AUG_STATE[2], int(sample_idx)]).generate_state(2)
    np.random.seed(int(state[0]))
    random.seed(int(state[1]))
    return True


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
    - An image whose short edge is below ``min_size`` (default:
      ``small_image_ratio`` times the model's input size, which
      :class:`~mpa_fer_plugin.engine.hooks.MPADataSeedHook` fills in) is
      used, but the first one of each dataset (pipeline) gives a warning
      naming the file; the count is in :attr:`num_small_images`.
    - During training, ``numpy`` and ``random`` are seeded per sample from
      ``(seed, epoch, sample_idx)`` (:func:`seed_sample`), so the random
      transforms after this one are reproducible across resumes.

    Args:
        to_float32 (bool): Convert the image to ``float32``.
            Defaults to ``False``.
        color_type (str): ``'color'``, ``'grayscale'`` or ``'unchanged'``,
            as in :func:`mmcv.imfrombytes`. Defaults to ``'color'``.
        imdecode_backend (str): Decoding backend. Defaults to ``'cv2'``.
        backend_args (dict, optional): File backend arguments.
            Defaults to ``None``.
        min_size (int, optional): Warn about images with a shorter edge.
            Defaults to ``None`` (derived from ``input_size``).
        small_image_ratio (float): ``min_size`` as a fraction of the
            model's input size. Defaults to ``0.125`` (FERPlus' 48 px
            faces pass for a 224 px model; a 1x1 image does not).
        input_size (int | Sequence[int], optional): The model's input
            size ``(h, w)``; set by the data-seed hook. Defaults to None.
    """

    def __init__(self,
                 to_float32: bool = False,
                 color_type: str = 'color',
                 imdecode_backend: str = 'cv2',
                 backend_args: Optional[dict] = None,
                 min_size: Optional[int] = None,
                 small_image_ratio: float = 0.125,
                 input_size: Optional[Union[int, Sequence[int]]] = None
                 ) -> None:
        if color_type not in ('color', 'grayscale', 'unchanged'):
            raise ValueError(f'color_type={color_type!r} must be "color", '
                             '"grayscale" or "unchanged"')
        super().__init__(
            to_float32=to_float32,
            color_type=color_type,
            imdecode_backend=imdecode_backend,
            backend_args=backend_args)
        self.min_size = min_size
        self.small_image_ratio = small_image_ratio
        self.input_size = input_size
        #: Images below the size threshold seen by this process.
        self.num_small_images = 0

    def _threshold(self) -> Optional[float]:
        if self.min_size is not None:
            return float(self.min_size)
        if self.input_size is None:
            return None
        size = self.input_size
        short = min(size) if isinstance(size, (tuple, list)) else size
        return float(short) * self.small_image_ratio

    def _check_size(self, img: np.ndarray, results: dict) -> None:
        threshold = self._threshold()
        if threshold is None or min(img.shape[:2]) >= threshold:
            return
        self.num_small_images += 1
        if self.num_small_images == 1:
            name = results.get('img_path') or (
                f'sample {results.get("sample_idx", "?")} (in memory)')
            print_log(
                f'{name} is {img.shape[1]}x{img.shape[0]} px, far smaller '
                f'than the model input {self.input_size or self.min_size} '
                f'(threshold {threshold:g} px on the short edge); it is '
                'upscaled, which loses detail. Only the first such image '
                'of this dataset is reported.', logger='current',
                level=logging.WARNING)

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
        self._check_size(img, results)
        if 'sample_idx' in results:
            seed_sample(results['sample_idx'])
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
