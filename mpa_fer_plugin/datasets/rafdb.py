"""RAF-DB (basic) in the official and the class-folder layouts."""
import logging
import os.path as osp
from typing import List, Optional, Tuple

from mmengine.logging import print_log
from mmpretrain.registry import DATASETS
from PIL import Image

from .base_fer import BaseFERDataset, list_entries, read_lines
from .categories import (
    FER7_CLASSES,
    FER8_CLASSES,
    RAFDB_NATIVE_EXT,
    native_to_canonical,
    resolve_class_name,
)

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff')
LABEL_FILE = osp.join('EmoLabel', 'list_patition_label.txt')  # sic


@DATASETS.register_module()
class RAFDB(BaseFERDataset):
    """The basic part of the Real-world Affective Faces database (RAF-DB).

    Used by `MPA-FER <https://arxiv.org/abs/2506.21017>`_ (12,271 train /
    3,068 test images). Two layouts are read: ::

        official                                 folder
        basic/                                   root/
        ├── EmoLabel/list_patition_label.txt     ├── train/
        └── Image/                               │   ├── 1/ (or surprise/)
            ├── aligned/train_00001_aligned.jpg  │   │   └── *.jpg
            └── original/train_00001.jpg         │   └── ... 7/ (neutral/)
                                                 └── test/...

    The label file has one ``<image name> <label>`` per line (e.g.
    ``train_09748.jpg 5``), labels 1-7 = Surprise, Fear, Disgust, Happiness,
    Sadness, Anger, Neutral, and the split is the name prefix ``train_`` /
    ``test_``. Class folders are named by those codes or by expression names
    (``happy``, ``Happiness``, ...). Labels are mapped to the canonical
    order of :data:`~.categories.FER7_CLASSES`.

    The image source changes reported accuracy by a few points, so it is
    recorded in ``metainfo['image_source']`` (``'aligned'``, ``'original'``
    or ``'folder'``) together with ``metainfo['image_size']`` (height and
    width of the first image; 100x100 for the official aligned faces) and
    logged.

    Args:
        data_root (str): The ``basic`` directory (official layout) or the
            directory holding ``train/`` and ``test/`` (folder layout).
        split (str): ``'train'`` or ``'test'``. Defaults to ``'train'``.
        image_source (str): ``'aligned'`` (``Image/aligned``, 100x100) or
            ``'original'`` (``Image/original``); official layout only.
            Defaults to ``'aligned'``.
        layout (str): ``'official'``, ``'folder'`` or ``'auto'`` (official
            when the label file exists). Defaults to ``'auto'``.
        num_classes (int): ``7``, or ``8`` to also accept the non-standard
            code 8 = Contempt written by the synthetic generator.
            Defaults to ``7``.
        skip_missing (bool): Drop listed but missing images with a warning
            instead of raising. Defaults to ``False``.
        check_files (bool): Check that listed images exist.
            Defaults to ``True``.
        metainfo (dict, optional): Extra meta information. Its ``classes``,
            if given, must equal the canonical tuple. Defaults to ``None``.
        **kwargs: Other arguments of
            :class:`mmpretrain.datasets.BaseDataset` (``pipeline``,
            ``test_mode``, ``indices``, ...).
    """

    METAINFO = {'classes': FER7_CLASSES}
    LAYOUTS = ('auto', 'official', 'folder')
    IMAGE_SOURCES = ('aligned', 'original')

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 image_source: str = 'aligned',
                 layout: str = 'auto',
                 num_classes: int = 7,
                 skip_missing: bool = False,
                 check_files: bool = True,
                 metainfo: Optional[dict] = None,
                 **kwargs) -> None:
        data_root = self._check_args(data_root, split, skip_missing,
                                     check_files)
        if image_source not in self.IMAGE_SOURCES:
            raise ValueError(f'RAFDB: image_source={image_source!r} must be '
                             f'one of {self.IMAGE_SOURCES}')
        if layout not in self.LAYOUTS:
            raise ValueError(f'RAFDB: layout={layout!r} must be one of '
                             f'{self.LAYOUTS}')
        if num_classes not in (7, 8):
            raise ValueError(f'RAFDB: num_classes={num_classes} must be 7 '
                             'or 8')
        classes = FER7_CLASSES if num_classes == 7 else FER8_CLASSES
        # Native RAF-DB code (1-based) -> canonical index.
        self.code_to_label = native_to_canonical(
            RAFDB_NATIVE_EXT[:num_classes], classes)
        self.num_classes = num_classes
        self.image_source = image_source
        self.layout = self._resolve_layout(data_root, layout, split)
        if self.layout == 'official':
            ann_file, data_prefix = LABEL_FILE, osp.join('Image',
                                                         image_source)
        else:
            ann_file, data_prefix = '', split
        super().__init__(
            ann_file=ann_file,
            data_root=data_root,
            data_prefix=data_prefix,
            metainfo=self._classes_metainfo(metainfo, classes),
            **kwargs)

    def _resolve_layout(self, data_root: str, layout: str,
                        split: str) -> str:
        has_labels = self.backend.isfile(osp.join(data_root, LABEL_FILE))
        has_folder = self.backend.isdir(osp.join(data_root, split))
        if layout == 'auto':
            if has_labels:
                return 'official'
            if has_folder:
                return 'folder'
            raise FileNotFoundError(
                f'RAFDB: {data_root} has neither the label file '
                f'{LABEL_FILE} (official layout) nor a {split}/ folder '
                '(folder layout)')
        if layout == 'official' and not has_labels:
            raise FileNotFoundError(
                'RAFDB: label file not found: '
                f'{osp.join(data_root, LABEL_FILE)}')
        if layout == 'folder' and not has_folder:
            raise FileNotFoundError(
                f'RAFDB: split folder not found: {osp.join(data_root, split)}')
        return layout

    def load_data_list(self) -> List[dict]:
        """Read the annotations of the chosen split.

        Returns:
            list[dict]: Data infos with ``img_path`` and ``gt_label``.
        """
        if self.layout == 'official':
            records, source = self._load_official(), self.ann_file
            image_source = self.image_source
        else:
            records, source = self._load_folder(), self.img_prefix
            image_source = 'folder'
        data_list = self._drop_missing(records, source)
        self._report(
            data_list, source,
            layout=self.layout,
            image_source=image_source,
            image_dir=self.img_prefix,
            image_size=self._first_image_size(data_list))
        return data_list

    def _label(self, code: str, where: str) -> int:
        """Convert a native code such as ``'5'`` to a canonical index."""
        try:
            value = int(code)
        except ValueError:
            value = None
        if value is None or not 1 <= value <= self.num_classes:
            raise ValueError(
                f'RAFDB: {where}: label {code!r} is not an integer in '
                f'1..{self.num_classes}')
        return self.code_to_label[value - 1]

    def _load_official(self) -> List[Tuple[dict, str]]:
        records, seen = [], {}
        for lineno, line in read_lines(self.ann_file):
            where = f'{self.ann_file}, line {lineno}'
            parts = line.split()
            if len(parts) != 2:
                raise ValueError(f'RAFDB: {where}: expected "<image name> '
                                 f'<label>", got {line!r}')
            name, code = parts
            prefix = name.split('_', 1)[0]
            if prefix not in self.SPLITS:
                raise ValueError(f'RAFDB: {where}: image name {name!r} '
                                 'starts with neither "train_" nor "test_"')
            if name in seen:
                raise ValueError(f'RAFDB: {where}: {name} is already listed '
                                 f'on line {seen[name]}')
            seen[name] = lineno
            label = self._label(code, where)
            if prefix != self.split:
                continue
            if self.image_source == 'aligned':
                stem, ext = osp.splitext(name)
                name = f'{stem}_aligned{ext}'
            img_path = self.backend.join_path(self.img_prefix, name)
            records.append((dict(img_path=img_path, gt_label=label),
                            f'line {lineno}'))
        return records

    def _folder_label(self, folder: str) -> int:
        """Canonical label of a class folder named by code or name."""
        if folder.isdigit():
            return self._label(
                folder, f'class folder {osp.join(self.img_prefix, folder)}')
        try:
            name = resolve_class_name(folder)
        except ValueError as e:
            raise ValueError(
                f'RAFDB: cannot map class folder '
                f'{osp.join(self.img_prefix, folder)} to an expression: '
                f'{e}') from None
        classes = self._metainfo['classes']
        if name not in classes:
            raise ValueError(
                f'RAFDB: class folder {osp.join(self.img_prefix, folder)} '
                f'is {name}, which is not in {classes} (num_classes='
                f'{self.num_classes})')
        return classes.index(name)

    def _load_folder(self) -> List[Tuple[dict, str]]:
        root = self.img_prefix
        records, ignored = [], []
        for entry in sorted(self.backend.list_dir_or_file(root)):
            path = self.backend.join_path(root, entry)
            if entry.startswith('.'):
                continue
            if not self.backend.isdir(path):
                ignored.append(entry)
                continue
            label = self._folder_label(entry)
            for fname in sorted(self.backend.list_dir_or_file(
                    path, list_dir=False)):
                if fname.startswith('.'):
                    continue
                if not fname.lower().endswith(IMG_EXTENSIONS):
                    ignored.append(osp.join(entry, fname))
                    continue
                img_path = self.backend.join_path(path, fname)
                records.append((dict(img_path=img_path, gt_label=label),
                                f'folder {entry}'))
        if ignored:
            print_log(
                f'RAFDB: ignored {len(ignored)} non-image entries under '
                f'{root} ({list_entries(ignored)})',
                logger='current', level=logging.WARNING)
        return records

    def _first_image_size(self,
                          data_list: List[dict]) -> Optional[Tuple[int, int]]:
        """Return ``(height, width)`` of the first image, read from its
        header only."""
        if not data_list or not self.backend.isfile(
                data_list[0]['img_path']):
            return None
        try:
            with Image.open(data_list[0]['img_path']) as img:
                return img.height, img.width
        except OSError:  # named later by LoadFERImage
            return None
