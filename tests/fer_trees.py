"""Writers of tiny dataset trees in the official layouts (no real FER data).

Shared by the dataset and config tests through the ``fer_data`` fixture of
``tests/conftest.py``.
"""
import csv
import os
import os.path as osp
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import cv2
import numpy as np

AFFECTNET_HEADER = ('subDirectory_filePath,face_x,face_y,face_width,'
                    'face_height,facial_landmarks,expression,valence,arousal')
FERPLUS_HEADER = ('Usage,Image name,neutral,happiness,surprise,sadness,anger,'
                  'disgust,fear,contempt,unknown,NF')


def write_image(path: str, size: int = 8, value: int = 128) -> str:
    """Write a small solid-colour image, creating folders."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    img = np.full((size, size, 3), value, np.uint8)
    assert cv2.imwrite(path, img)
    return path


def write_rafdb_official(root: str, entries: Sequence[Tuple[str, int]],
                         image_source: str = 'aligned', size: int = 8,
                         newline: str = '\n', trailer: str = '',
                         images: bool = True) -> str:
    """Write ``EmoLabel/list_patition_label.txt`` and the listed images."""
    os.makedirs(osp.join(root, 'EmoLabel'), exist_ok=True)
    with open(osp.join(root, 'EmoLabel', 'list_patition_label.txt'), 'w',
              newline='') as f:
        f.write(newline.join(f'{n} {c}' for n, c in entries) + newline
                + trailer)
    for name, _ in entries if images else ():
        stem, ext = osp.splitext(name)
        fname = f'{stem}_aligned{ext}' if image_source == 'aligned' else name
        write_image(osp.join(root, 'Image', image_source, fname), size)
    return root


def write_rafdb_folder(root: str, layout: Dict[str, Dict[str, int]]) -> str:
    """Write ``<split>/<class folder>/img_k.jpg`` trees."""
    for split, folders in layout.items():
        for folder, n in folders.items():
            for k in range(n):
                write_image(osp.join(root, split, folder, f'img_{k}.jpg'))
    return root


def write_affectnet(root: str, rows: Iterable[Tuple[str, str]],
                    csv_name: str = 'training.csv', subdir: str = '',
                    images: bool = True, header: bool = True) -> str:
    """Write an AffectNet CSV; ``rows`` are ``(path, expression)``."""
    lines = [AFFECTNET_HEADER] if header else []
    for path, expr in rows:
        lines.append(f'{path},10,12,80,80,1.5;2.5;3.5,{expr},0.1,-0.2')
        if images:
            write_image(osp.join(root, 'Manually_Annotated_Images', path))
    os.makedirs(osp.join(root, subdir), exist_ok=True)
    with open(osp.join(root, subdir, csv_name), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return root


def pixel_string(value: int, n: int = 48 * 48) -> str:
    """A flat 48x48 image as a space-separated pixel string."""
    return ' '.join([str(value)] * n)


def write_ferplus_csv(root: str,
                      rows: Sequence[Tuple[str, str, Sequence[int]]],
                      pixels: Optional[List[str]] = None,
                      extra_pixel_rows: int = 0,
                      newline: str = '\n') -> str:
    """Write ``fer2013.csv`` + ``fer2013new.csv``.

    ``rows`` are ``(usage, image_name, votes[10])``; pixel row ``i`` is a flat
    image of value ``i`` unless ``pixels`` is given.
    """
    os.makedirs(root, exist_ok=True)
    old = ['emotion,pixels,Usage']
    new = [FERPLUS_HEADER]
    for i, (usage, name, votes) in enumerate(rows):
        pix = pixels[i] if pixels else pixel_string(i)
        old.append(f'0,{pix},{usage}')
        new.append(f'{usage},{name},' + ','.join(str(v) for v in votes))
    for _ in range(extra_pixel_rows):
        old.append(f'0,{pixel_string(0)},Training')
    with open(osp.join(root, 'fer2013.csv'), 'w', newline='') as f:
        f.write(newline.join(old) + newline)
    with open(osp.join(root, 'fer2013new.csv'), 'w', newline='') as f:
        f.write(newline.join(new) + newline)
    return root


def write_ferplus_folder(root: str, folder: str,
                         rows: Sequence[Tuple[str, Sequence[int]]],
                         images: bool = True) -> str:
    """Write ``<folder>/label.csv`` (name, bbox, 10 votes) and PNG images."""
    os.makedirs(osp.join(root, folder), exist_ok=True)
    with open(osp.join(root, folder, 'label.csv'), 'w', newline='') as f:
        writer = csv.writer(f)
        for name, votes in rows:
            writer.writerow([name, '(0, 0, 48, 48)', *votes])
            if images and name:
                img = np.full((48, 48), 77, np.uint8)
                cv2.imwrite(osp.join(root, folder, name), img)
    return root
