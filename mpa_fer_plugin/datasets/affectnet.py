"""AffectNet (manually annotated release), 7 or 8 expression classes."""
import csv
import io
import os.path as osp
from collections import Counter
from typing import List, Optional, Tuple

from mmengine.fileio import get_text
from mmengine.logging import print_log
from mmpretrain.registry import DATASETS

from .base_fer import BaseFERDataset
from .categories import (
    AFFECTNET_NATIVE,
    FER7_CLASSES,
    FER8_CLASSES,
    native_to_canonical,
)

COLUMNS = ('subDirectory_filePath', 'face_x', 'face_y', 'face_width',
           'face_height', 'facial_landmarks', 'expression', 'valence',
           'arousal')
#: Codes 8-10 (None, Uncertain, No-Face) are never expressions.
NUM_CODES = 11
CSV_DIRS = ('', 'Manually_Annotated_file_lists')


@DATASETS.register_module()
class AffectNet(BaseFERDataset):
    """AffectNet, manually annotated part, as AffectNet-7 or AffectNet-8.

    Used by `MPA-FER <https://arxiv.org/abs/2506.21017>`_. Layout of the
    official release: ::

        AffectNet/
        ├── training.csv      (or Manually_Annotated_file_lists/training.csv)
        ├── validation.csv
        └── Manually_Annotated_Images/
            └── 689/737db2483489148d783ef278f43f486c0a97e140fc4b6b61b8.jpg

    The CSVs have the header ``subDirectory_filePath, face_x, face_y,
    face_width, face_height, facial_landmarks, expression, valence,
    arousal``; expression codes are 0 Neutral, 1 Happiness, 2 Sadness,
    3 Surprise, 4 Fear, 5 Disgust, 6 Anger, 7 Contempt, 8 None,
    9 Uncertain, 10 No-Face. AffectNet-7 keeps codes 0-6, AffectNet-8 codes
    0-7; the other rows are dropped and counted in the log and in
    ``metainfo['num_dropped']``. The official validation set (500 images
    per class) is the test set, so ``'val'`` and ``'test'`` both read
    ``validation.csv``.

    The training set is heavily imbalanced. :meth:`get_cat_ids` lets
    mmengine's ``ClassBalancedDataset`` repeat rare classes: ::

        train_dataloader = dict(dataset=dict(
            _delete_=True,
            type='ClassBalancedDataset',
            oversample_thr=0.1,  # classes rarer than 10% get repeated
            dataset=dict(type='AffectNet', data_root=data_root,
                         split='train', num_classes=8,
                         pipeline=train_pipeline)))

    Args:
        data_root (str): The AffectNet root directory.
        split (str): ``'train'``, ``'val'`` or ``'test'``.
            Defaults to ``'train'``.
        num_classes (int): ``7`` or ``8``. Defaults to ``7``.
        ann_file (str): CSV file, relative to ``data_root`` or absolute.
            Defaults to ``''``: ``training.csv`` / ``validation.csv`` found
            in ``data_root`` or ``data_root/Manually_Annotated_file_lists``.
        data_prefix (str): Image directory relative to ``data_root``.
            Defaults to ``'Manually_Annotated_Images'``.
        skip_missing (bool): Drop listed but missing images with a warning
            instead of raising. Defaults to ``False``.
        check_files (bool): Check that listed images exist (about 290k
            ``stat`` calls for the training set). Defaults to ``True``.
        metainfo (dict, optional): Extra meta information.
            Defaults to ``None``.
        **kwargs: Other arguments of
            :class:`mmpretrain.datasets.BaseDataset`.
    """

    METAINFO = {'classes': FER7_CLASSES}
    SPLITS = ('train', 'val', 'test')

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 num_classes: int = 7,
                 ann_file: str = '',
                 data_prefix: str = 'Manually_Annotated_Images',
                 skip_missing: bool = False,
                 check_files: bool = True,
                 metainfo: Optional[dict] = None,
                 **kwargs) -> None:
        data_root = self._check_args(data_root, split, skip_missing,
                                     check_files)
        if num_classes not in (7, 8):
            raise ValueError(f'AffectNet: num_classes={num_classes} must be '
                             '7 or 8')
        classes = FER7_CLASSES if num_classes == 7 else FER8_CLASSES
        self.num_classes = num_classes
        self.code_to_label = native_to_canonical(
            AFFECTNET_NATIVE[:num_classes], classes)
        if not ann_file:
            ann_file = self._find_csv(data_root, split)
        super().__init__(
            ann_file=ann_file,
            data_root=data_root,
            data_prefix=data_prefix,
            metainfo=self._classes_metainfo(metainfo, classes),
            **kwargs)

    def _find_csv(self, data_root: str, split: str) -> str:
        name = 'training.csv' if split == 'train' else 'validation.csv'
        candidates = [osp.join(d, name) for d in CSV_DIRS]
        for rel in candidates:
            if self.backend.isfile(osp.join(data_root, rel)):
                return rel
        raise FileNotFoundError(
            f'AffectNet: annotation file for split {split!r} not found; '
            'looked for ' + ', '.join(osp.join(data_root, c)
                                      for c in candidates))

    def _columns(self, header: List[str]) -> Tuple[int, int, bool]:
        """Return the path and expression column indices and whether the
        first row was a header."""
        cells = [c.strip() for c in header]
        if 'subDirectory_filePath' in cells and 'expression' in cells:
            return (cells.index('subDirectory_filePath'),
                    cells.index('expression'), True)
        if len(cells) == len(COLUMNS):  # header-less copy, standard order
            return 0, COLUMNS.index('expression'), False
        raise ValueError(
            f'AffectNet: {self.ann_file}, line 1: expected the header '
            f'{",".join(COLUMNS)}, got {",".join(cells)!r}')

    def load_data_list(self) -> List[dict]:
        """Read the CSV of the chosen split.

        Returns:
            list[dict]: Data infos with ``img_path`` and ``gt_label``.
        """
        if not self.backend.isfile(self.ann_file):
            raise FileNotFoundError(
                f'AffectNet: annotation file not found: {self.ann_file}')
        text = get_text(self.ann_file, encoding='utf-8-sig')
        reader = csv.reader(io.StringIO(text))
        rows = [(reader.line_num, row) for row in reader]
        rows = [(n, row) for n, row in rows if any(c.strip() for c in row)]
        if not rows:
            raise ValueError(f'AffectNet: {self.ann_file} is empty')
        path_col, expr_col, has_header = self._columns(rows[0][1])
        width = len(rows[0][1])
        records, dropped = [], Counter()
        for lineno, row in rows[1:] if has_header else rows:
            where = f'{self.ann_file}, line {lineno}'
            if len(row) != width:
                raise ValueError(f'AffectNet: {where}: expected {width} '
                                 f'comma-separated fields, got {len(row)}')
            rel_path, code = row[path_col].strip(), row[expr_col].strip()
            if not rel_path:
                raise ValueError(f'AffectNet: {where}: empty image path')
            try:
                value = int(code)
            except ValueError:
                value = -1
            if not 0 <= value < NUM_CODES:
                raise ValueError(
                    f'AffectNet: {where}: expression {code!r} is not an '
                    f'integer in 0..{NUM_CODES - 1}')
            if value >= self.num_classes:
                dropped[value] += 1
                continue
            img_path = self.backend.join_path(self.img_prefix, rel_path)
            records.append((dict(img_path=img_path,
                                 gt_label=self.code_to_label[value]),
                            f'line {lineno}'))
        if dropped:
            print_log(
                f'AffectNet-{self.num_classes} {self.split}: dropped '
                f'{sum(dropped.values())} rows of {self.ann_file} with '
                'expression codes outside 0..'
                f'{self.num_classes - 1} (per code: '
                + ', '.join(f'{k}: {dropped[k]}' for k in sorted(dropped))
                + ')', logger='current')
        data_list = self._drop_missing(records, self.ann_file)
        self._report(data_list, self.ann_file,
                     num_dropped=sum(dropped.values()),
                     image_dir=self.img_prefix)
        return data_list
