"""The demo world: generated faces in the RAF-DB layout, with region masks.

The faces are drawn by :mod:`.synthetic_faces` (confusable expression pairs
that differ by one local cue, small faces in clutter, occluders, varying
intensity; see there). Every image is drawn from its own generator seeded
with ``(seed, split, index)``, so a dataset is reproducible byte for byte
and independent of the order in which images are drawn.

:func:`generate_synthetic_fer` writes, under ``out_dir``:

* ``EmoLabel/list_patition_label.txt`` and
  ``Image/aligned/{train_00001,test_0001}_aligned.jpg`` -- the official
  RAF-DB layout, read by :class:`~.RAFDB`;
* ``Masks/aligned/{stem}_regions.png`` -- one lossless 8-bit mask per image
  at the image size, where bit ``i`` (value ``1 << i``) marks region
  :data:`~.synthetic_faces.REGION_NAMES` ``[i]`` (brows 1, eyes 2, nose 4,
  mouth 8, cheeks 16); read it with :func:`load_region_mask`;
* ``synthetic_fer.json`` -- the manifest: generator version, arguments,
  per-split class counts, the region bits, :data:`MOVED_REGIONS` and the
  SHA-256 of the label file; :func:`verify_synthetic_fer` checks a folder
  against it.

A non-empty ``out_dir`` is refused unless ``overwrite=True`` (which clears
it first).
"""
import hashlib
import json
import os
import os.path as osp
import shutil
from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np
from mmengine.logging import print_log

from .categories import FER7_CLASSES, FER8_CLASSES, RAFDB_NATIVE_EXT
from .synthetic_faces import (
    MOVED_REGIONS,
    REGION_NAMES,
    SHIFTS,
    render_face,
    render_face_and_regions,
)

__all__ = [
    'MOVED_REGIONS', 'REGION_NAMES', 'SHIFTS', 'generate_synthetic_fer',
    'load_region_mask', 'render_face', 'render_face_and_regions',
    'synthetic_labels', 'verify_synthetic_fer'
]

#: Version of the drawing; stored in the manifest (2: the world with
#: confusable pairs, clutter and region masks).
WORLD_VERSION = 2
MANIFEST = 'synthetic_fer.json'
LABEL_FILE = osp.join('EmoLabel', 'list_patition_label.txt')


def _class_counts(num: int, weights: Sequence[float]) -> np.ndarray:
    """Split ``num`` into per-class counts by the largest-remainder rule."""
    w = np.asarray(weights, dtype=np.float64)
    exact = num * w / w.sum()
    counts = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - counts), kind='stable')
    counts[order[:num - counts.sum()]] += 1
    return counts


def synthetic_labels(num: int, num_classes: int, seed: int, split: str,
                     class_weights: Optional[Sequence[float]] = None
                     ) -> np.ndarray:
    """Return shuffled canonical labels with the requested class balance.

    Args:
        num (int): Number of images.
        num_classes (int): ``7`` or ``8`` (with Contempt).
        seed (int): Random seed.
        split (str): ``'train'`` or ``'test'``; seeds a separate stream.
        class_weights (Sequence[float], optional): Relative class
            frequencies in canonical order; ``None`` means balanced.

    Returns:
        np.ndarray: ``num`` canonical label indices.
    """
    if class_weights is None:
        class_weights = [1.0] * num_classes
    if (len(class_weights) != num_classes
            or any(w < 0 for w in class_weights) or sum(class_weights) <= 0):
        raise ValueError(f'class_weights={tuple(class_weights)} must be '
                         f'{num_classes} non-negative numbers, not all zero')
    counts = _class_counts(num, class_weights)
    labels = np.repeat(np.arange(num_classes), counts)
    rng = np.random.default_rng([seed, _SPLIT_IDS[split], 1])
    return rng.permutation(labels)


_SPLIT_IDS = {'train': 0, 'test': 1}


def _stems(split: str, num: int) -> List[str]:
    digits = max(5 if split == 'train' else 4, len(str(num)))
    return [f'{split}_{i + 1:0{digits}d}' for i in range(num)]


def load_region_mask(data_root: str, stem: str) -> np.ndarray:
    """Read the region bit mask of one image (e.g. ``stem='test_0001'``).

    Returns:
        np.ndarray: ``(H, W)`` uint8; bit ``i`` is region
        ``REGION_NAMES[i]``.
    """
    path = osp.join(data_root, 'Masks', 'aligned', f'{stem}_regions.png')
    mask = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if mask is None:
        raise FileNotFoundError(f'region mask not found or unreadable: '
                                f'{path}')
    return mask


def _file_sha256(path: str) -> str:
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def generate_synthetic_fer(out_dir: str, num_train: int = 700,
                           num_test: int = 140, size: int = 100,
                           seed: int = 0, num_classes: int = 7,
                           class_weights: Optional[Sequence[float]] = None,
                           quality: int = 95,
                           test_shift: Sequence[str] = (),
                           overwrite: bool = False) -> Dict[str, List[int]]:
    """Write the demo world in the RAF-DB layout, with masks and manifest.

    Labels use RAF-DB codes 1-7; with ``num_classes=8`` Contempt is written
    as the extra code 8, which ``RAFDB(num_classes=8)`` accepts.

    Args:
        out_dir (str): Output root; created if needed. Must be empty or
            absent unless ``overwrite``.
        num_train (int): Number of training images. Defaults to ``700``.
        num_test (int): Number of test images. Defaults to ``140``.
        size (int): Image side length. Defaults to ``100`` (RAF-DB
            aligned; the demo uses 64, the tiny CLIP's input size).
        seed (int): Random seed; equal seeds give identical files.
            Defaults to ``0``.
        num_classes (int): ``7`` basic expressions or ``8`` with Contempt.
            Defaults to ``7``.
        class_weights (Sequence[float], optional): Relative class
            frequencies of both splits in canonical (``FER_CLASSES``)
            order. Defaults to ``None`` (balanced).
        quality (int): JPEG quality. Defaults to ``95``.
        test_shift (Sequence[str]): Factors drawn from a shifted
            distribution in the test split only, a subset of
            :data:`SHIFTS`. Defaults to ``()`` (no shift).
        overwrite (bool): Clear a non-empty ``out_dir`` first instead of
            refusing it. Defaults to False.

    Returns:
        dict[str, list[int]]: Per-split image counts per canonical class.
    """
    if num_classes not in (7, 8):
        raise ValueError(f'num_classes={num_classes} must be 7 or 8')
    if num_train < 0 or num_test < 0:
        raise ValueError(f'num_train={num_train} and num_test={num_test} '
                         'must be >= 0')
    if size < 16:
        raise ValueError(f'size={size} must be >= 16')
    test_shift = sorted(set(test_shift))
    if set(test_shift) - set(SHIFTS):
        raise ValueError(f'test_shift={test_shift} must be a subset of '
                         f'{SHIFTS}')
    if osp.isdir(out_dir) and os.listdir(out_dir):
        if not overwrite:
            raise FileExistsError(
                f'{out_dir} is not empty; pass another folder, or '
                'overwrite=True (--overwrite) to clear it first')
        shutil.rmtree(out_dir)
    classes = FER7_CLASSES if num_classes == 7 else FER8_CLASSES
    code_of = {name: i + 1 for i, name in enumerate(RAFDB_NATIVE_EXT)}
    img_dir = osp.join(out_dir, 'Image', 'aligned')
    mask_dir = osp.join(out_dir, 'Masks', 'aligned')
    for folder in (img_dir, mask_dir, osp.join(out_dir, 'EmoLabel')):
        os.makedirs(folder, exist_ok=True)
    lines, summary = [], {}
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)]
    for split, num in (('train', num_train), ('test', num_test)):
        labels = synthetic_labels(num, num_classes, seed, split,
                                  class_weights)
        shift = test_shift if split == 'test' else ()
        for i, (stem, label) in enumerate(zip(_stems(split, num), labels)):
            rng = np.random.default_rng([seed, _SPLIT_IDS[split], 0, i])
            img, mask = render_face_and_regions(classes[label], rng, size,
                                                shift)
            ok, buf = cv2.imencode('.jpg', img, params)
            ok2, mbuf = cv2.imencode('.png', mask)
            if not (ok and ok2):  # pragma: no cover - cv2 failure
                raise RuntimeError(f'could not encode {stem}')
            with open(osp.join(img_dir, f'{stem}_aligned.jpg'), 'wb') as f:
                f.write(buf.tobytes())
            with open(osp.join(mask_dir, f'{stem}_regions.png'), 'wb') as f:
                f.write(mbuf.tobytes())
            lines.append(f'{stem}.jpg {code_of[classes[label]]}')
        summary[split] = np.bincount(labels, minlength=num_classes).tolist()
    label_file = osp.join(out_dir, LABEL_FILE)
    with open(label_file, 'w', encoding='utf-8') as f:
        f.write('\n'.join(lines) + ('\n' if lines else ''))
    manifest = dict(
        generator='mpa_fer_plugin.datasets.synthetic',
        world_version=WORLD_VERSION, num_train=num_train,
        num_test=num_test, size=size, seed=seed, num_classes=num_classes,
        class_weights=None if class_weights is None else
        [float(w) for w in class_weights], quality=int(quality),
        test_shift=test_shift, counts=summary,
        region_bits={n: 1 << i for i, n in enumerate(REGION_NAMES)},
        moved_regions={c: list(MOVED_REGIONS[c]) for c in classes},
        label_file_sha256=_file_sha256(label_file))
    with open(osp.join(out_dir, MANIFEST), 'w', encoding='utf-8') as f:
        json.dump(manifest, f, indent=2)
    print_log(f'synthetic FER v{WORLD_VERSION}: wrote {num_train} train / '
              f'{num_test} test {size}x{size} images ({num_classes} '
              f'classes, seed {seed}, test shift {test_shift or "none"}) '
              f'to {out_dir}', logger='current')
    return summary


def verify_synthetic_fer(data_root: str, **expected) -> dict:
    """Check a generated folder against its manifest and ``expected``.

    Checks that the manifest exists and is of this :data:`WORLD_VERSION`,
    that every ``expected`` key (e.g. ``num_train=700, seed=0``) equals the
    manifest's value, that the label file has the manifest's SHA-256 and
    per-split class counts, and that every listed image and mask exists.

    Returns:
        dict: The manifest.

    Raises:
        ValueError: Naming the first mismatch (file and value).
    """
    path = osp.join(data_root, MANIFEST)
    if not osp.isfile(path):
        raise ValueError(f'{data_root} has no manifest {MANIFEST}')
    with open(path, encoding='utf-8') as f:
        manifest = json.load(f)
    expected.setdefault('world_version', WORLD_VERSION)
    for key, value in expected.items():
        if key == 'test_shift':
            value = sorted(set(value))
        if key == 'class_weights' and value is not None:
            value = [float(w) for w in value]
        if manifest.get(key) != value:
            raise ValueError(f'{path}: {key}={manifest.get(key)!r}, '
                             f'expected {value!r}')
    label_file = osp.join(data_root, LABEL_FILE)
    if not osp.isfile(label_file):
        raise ValueError(f'{label_file} is missing')
    if _file_sha256(label_file) != manifest['label_file_sha256']:
        raise ValueError(f'{label_file} does not match the SHA-256 in '
                         f'{path}')
    counts = {'train': [0] * manifest['num_classes'],
              'test': [0] * manifest['num_classes']}
    classes = FER7_CLASSES if manifest['num_classes'] == 7 else FER8_CLASSES
    index = {RAFDB_NATIVE_EXT.index(c) + 1: i for i, c in enumerate(classes)}
    with open(label_file, encoding='utf-8') as f:
        for n, line in enumerate(f, 1):
            name, code = line.split()
            stem = osp.splitext(name)[0]
            counts[stem.split('_')[0]][index[int(code)]] += 1
            for rel in (osp.join('Image', 'aligned', f'{stem}_aligned.jpg'),
                        osp.join('Masks', 'aligned', f'{stem}_regions.png')):
                if not osp.isfile(osp.join(data_root, rel)):
                    raise ValueError(f'{label_file}:{n}: {rel} is missing')
    if counts != manifest['counts']:
        raise ValueError(f'{label_file}: class counts {counts} differ from '
                         f'the manifest {manifest["counts"]}')
    return manifest
