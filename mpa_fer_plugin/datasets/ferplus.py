"""FERPlus: FER2013 images relabelled by 10 crowd votes each."""
import csv
import itertools
import os.path as osp
from collections import Counter
from typing import Iterator, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.logging import print_log
from mmpretrain.registry import DATASETS

from .base_fer import BaseFERDataset
from .categories import FER8_CLASSES, FERPLUS_NATIVE, native_to_canonical

#: Vote columns of ``fer2013new.csv`` and ``label.csv``, in file order.
VOTE_COLUMNS = ('neutral', 'happiness', 'surprise', 'sadness', 'anger',
                'disgust', 'fear', 'contempt', 'unknown', 'NF')
NUM_EMOTIONS = 8  # the first 8 vote columns are expressions
USAGE_TO_SPLIT = {'Training': 'train', 'PublicTest': 'val',
                  'PrivateTest': 'test'}
SPLIT_FOLDERS = {'train': 'FER2013Train', 'val': 'FER2013Valid',
                 'test': 'FER2013Test'}
IMG_SIDE = 48


def remove_single_votes(votes: Sequence[float]) -> np.ndarray:
    """Zero every column with at most one vote (FERPlus outlier removal)."""
    v = np.asarray(votes, dtype=np.float64).copy()
    v[v <= 1] = 0.0
    return v


def majority_label(votes: Sequence[float]) -> Optional[int]:
    """Apply Microsoft's FERPlus ``majority`` rule to one row of votes.

    Single votes are zeroed; the arg-max is kept only if it holds more than
    half of the remaining votes and is an emotion (not unknown or NF).

    Args:
        votes (Sequence[float]): The 10 vote counts in ``VOTE_COLUMNS``
            order.

    Returns:
        int | None: Index into the first 8 columns (native order), or
        ``None`` if the image is dropped.
    """
    v = remove_single_votes(votes)
    top = int(np.argmax(v))
    if v[top] > 0.5 * v.sum() and top < NUM_EMOTIONS:
        return top
    return None


def probability_label(votes: Sequence[float]) -> Optional[np.ndarray]:
    """Soft label over the 8 emotions after single-vote removal.

    Rows with no emotion votes left, or where unknown or NF gets more votes
    than every emotion, are dropped (``None``), as in the majority rule.

    Args:
        votes (Sequence[float]): The 10 vote counts in ``VOTE_COLUMNS``
            order.

    Returns:
        np.ndarray | None: ``float32`` probabilities in native order.
    """
    v = remove_single_votes(votes)
    emotions = v[:NUM_EMOTIONS]
    if emotions.sum() <= 0 or v[NUM_EMOTIONS:].max() > emotions.max():
        return None
    return (emotions / emotions.sum()).astype(np.float32)


def _rows(path: str) -> Iterator[Tuple[int, List[str]]]:
    """Yield ``(line_number, cells)`` of a CSV file, skipping blank lines."""
    with open(path, newline='', encoding='utf-8-sig') as f:
        reader = csv.reader(f)
        for row in reader:
            if any(c.strip() for c in row):
                yield reader.line_num, row


@DATASETS.register_module()
class FERPlus(BaseFERDataset):
    """FERPlus with majority-vote or soft (probability) labels.

    Used by `MPA-FER <https://arxiv.org/abs/2506.21017>`_. Two layouts: ::

        csv                              folder (generate_training_data.py)
        root/                            root/
        ├── fer2013.csv                  ├── FER2013Train/
        └── fer2013new.csv               │   ├── label.csv
                                         │   └── fer0000000.png ...
                                         ├── FER2013Valid/
                                         └── FER2013Test/

    ``fer2013.csv`` (``emotion, pixels, Usage``) holds each 48x48 grayscale
    face as 2304 space-separated values; ``fer2013new.csv`` (``Usage, Image
    name, neutral, happiness, surprise, sadness, anger, disgust, fear,
    contempt, unknown, NF``) has the 10 votes per image in the same row
    order. Rows with an empty ``Image name`` (non-faces) are skipped. Usage
    Training / PublicTest / PrivateTest is split train / val / test (folders
    ``FER2013Train`` / ``FER2013Valid`` / ``FER2013Test``, whose header-less
    ``label.csv`` rows are ``name, "(x, y, w, h)", 10 votes``).

    Label modes:

    - ``'majority'``: Microsoft's rule (:func:`majority_label`); images
      whose winner is unknown or NF, or has no majority, are dropped.
    - ``'probability'``: ``gt_score`` is the vote distribution over the 8
      emotions after single-vote removal (:func:`probability_label`), in
      canonical order; ``gt_label`` is its arg-max, for metrics and
      class-balanced sampling. mmpretrain's ``ClsHead`` then trains on the
      soft targets.

    Both are reported in ``metainfo['num_dropped']``. In the CSV layout the
    decoded ``(48, 48)`` uint8 image is stored in the data info as ``img``
    (``img_path`` only points to the CSV line), so the pipeline must start
    with ``LoadFERImage``, which replicates it to 3 channels, and never
    with ``LoadImageFromFile``.

    Args:
        data_root (str): Directory holding the CSVs or the split folders.
        split (str): ``'train'``, ``'val'`` or ``'test'``.
            Defaults to ``'train'``.
        label_mode (str): ``'majority'`` or ``'probability'``.
            Defaults to ``'majority'``.
        layout (str): ``'csv'``, ``'folder'`` or ``'auto'`` (csv when both
            CSVs exist). Defaults to ``'auto'``.
        fer2013_csv (str): Pixel CSV relative to ``data_root``.
            Defaults to ``'fer2013.csv'``.
        ferplus_csv (str): Vote CSV relative to ``data_root``.
            Defaults to ``'fer2013new.csv'``.
        skip_missing (bool): Folder layout: drop listed but missing images
            with a warning instead of raising. Defaults to ``False``.
        check_files (bool): Folder layout: check that listed images exist.
            Defaults to ``True``.
        metainfo (dict, optional): Extra meta information.
            Defaults to ``None``.
        **kwargs: Other arguments of
            :class:`mmpretrain.datasets.BaseDataset`.
    """

    METAINFO = {'classes': FER8_CLASSES}
    SPLITS = ('train', 'val', 'test')
    LAYOUTS = ('auto', 'csv', 'folder')
    LABEL_MODES = ('majority', 'probability')

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 label_mode: str = 'majority',
                 layout: str = 'auto',
                 fer2013_csv: str = 'fer2013.csv',
                 ferplus_csv: str = 'fer2013new.csv',
                 skip_missing: bool = False,
                 check_files: bool = True,
                 metainfo: Optional[dict] = None,
                 **kwargs) -> None:
        data_root = self._check_args(data_root, split, skip_missing,
                                     check_files)
        if label_mode not in self.LABEL_MODES:
            raise ValueError(f'FERPlus: label_mode={label_mode!r} must be '
                             f'one of {self.LABEL_MODES}')
        if layout not in self.LAYOUTS:
            raise ValueError(f'FERPlus: layout={layout!r} must be one of '
                             f'{self.LAYOUTS}')
        self.label_mode = label_mode
        self.native_to_label = native_to_canonical(FERPLUS_NATIVE,
                                                   FER8_CLASSES)
        self.pixel_csv = osp.join(data_root, fer2013_csv)
        self.vote_csv = osp.join(data_root, ferplus_csv)
        folder = osp.join(data_root, SPLIT_FOLDERS[split])
        has_csv = osp.isfile(self.pixel_csv) and osp.isfile(self.vote_csv)
        if layout == 'auto':
            if not has_csv and not osp.isdir(folder):
                raise FileNotFoundError(
                    f'FERPlus: {data_root} has neither {fer2013_csv} + '
                    f'{ferplus_csv} (csv layout) nor {SPLIT_FOLDERS[split]}/ '
                    '(folder layout)')
            layout = 'csv' if has_csv else 'folder'
        self.layout = layout
        if layout == 'csv':
            for path in (self.pixel_csv, self.vote_csv):
                if not osp.isfile(path):
                    raise FileNotFoundError(
                        f'FERPlus: annotation file not found: {path}')
            ann_file, data_prefix = ferplus_csv, ''
        else:
            ann_file = osp.join(SPLIT_FOLDERS[split], 'label.csv')
            if not osp.isfile(osp.join(data_root, ann_file)):
                raise FileNotFoundError(
                    'FERPlus: annotation file not found: '
                    f'{osp.join(data_root, ann_file)}')
            data_prefix = SPLIT_FOLDERS[split]
        super().__init__(
            ann_file=ann_file,
            data_root=data_root,
            data_prefix=data_prefix,
            metainfo=self._classes_metainfo(metainfo, FER8_CLASSES),
            **kwargs)

    def _make_label(self, votes: List[str], where: str) -> Optional[dict]:
        """Turn 10 vote strings into ``gt_label`` (and ``gt_score``)."""
        try:
            counts = [float(v) for v in votes]
        except ValueError:
            counts = []
        if len(counts) != len(VOTE_COLUMNS) or min(counts) < 0:
            raise ValueError(f'FERPlus: {where}: expected {len(VOTE_COLUMNS)}'
                             f' non-negative vote counts, got {votes}')
        if self.label_mode == 'majority':
            top = majority_label(counts)
            if top is None:
                return None
            return dict(gt_label=self.native_to_label[top])
        soft = probability_label(counts)
        if soft is None:
            return None
        score = np.zeros(NUM_EMOTIONS, dtype=np.float32)
        score[list(self.native_to_label)] = soft
        return dict(gt_label=self.native_to_label[int(np.argmax(soft))],
                    gt_score=score)

    def load_data_list(self) -> List[dict]:
        """Read the chosen split.

        Returns:
            list[dict]: Data infos with ``gt_label`` (and ``gt_score`` in
            probability mode) and ``img`` (csv) or ``img_path`` (folder).
        """
        dropped = Counter()
        if self.layout == 'csv':
            data_list = self._load_csv(dropped)
            source = f'{self.pixel_csv} + {self.vote_csv}'
        else:
            records = self._load_folder(dropped)
            data_list = self._drop_missing(records, self.ann_file)
            source = self.ann_file
        if dropped:
            print_log(
                f'FERPlus {self.split}: skipped '
                + ', '.join(f'{n} {why}' for why, n in dropped.items())
                + f' ({self.label_mode} labels)', logger='current')
        self._report(data_list, source, layout=self.layout,
                     label_mode=self.label_mode,
                     num_dropped=sum(dropped.values()))
        return data_list

    def _header(self, path: str, rows: Iterator, needed: Sequence[str]):
        try:
            lineno, header = next(rows)
        except StopIteration:
            raise ValueError(f'FERPlus: {path} is empty') from None
        cells = [c.strip() for c in header]
        missing = [c for c in needed if c not in cells]
        if missing:
            raise ValueError(f'FERPlus: {path}, line {lineno}: header lacks '
                             f'columns {missing}, got {cells}')
        return {c: cells.index(c) for c in needed}

    def _load_csv(self, dropped: Counter) -> List[dict]:
        pix_rows, vote_rows = _rows(self.pixel_csv), _rows(self.vote_csv)
        pcol = self._header(self.pixel_csv, pix_rows, ('pixels', 'Usage'))
        vcol = self._header(self.vote_csv, vote_rows,
                            ('Usage', 'Image name') + VOTE_COLUMNS)
        data_list, n_pix, n_vote = [], 0, 0
        for pix, vote in itertools.zip_longest(pix_rows, vote_rows):
            n_pix += pix is not None
            n_vote += vote is not None
            if pix is None or vote is None:
                continue  # keep counting; reported below
            (pline, prow), (vline, vrow) = pix, vote
            where = f'{self.vote_csv}, line {vline}'
            if len(prow) <= max(pcol.values()) or len(vrow) <= max(
                    vcol.values()):
                bad = self.pixel_csv if len(prow) <= max(
                    pcol.values()) else self.vote_csv
                line = pline if bad == self.pixel_csv else vline
                raise ValueError(f'FERPlus: {bad}, line {line}: too few '
                                 'fields')
            usage = vrow[vcol['Usage']].strip()
            if usage not in USAGE_TO_SPLIT:
                raise ValueError(f'FERPlus: {where}: unknown Usage '
                                 f'{usage!r}; expected one of '
                                 f'{tuple(USAGE_TO_SPLIT)}')
            if prow[pcol['Usage']].strip() != usage:
                self._check_counts(sum(1 for _ in _rows(self.pixel_csv)),
                                   sum(1 for _ in _rows(self.vote_csv)),
                                   header=1)
                raise ValueError(
                    f'FERPlus: rows disagree: {self.pixel_csv}, line {pline} '
                    f'has Usage {prow[pcol["Usage"]].strip()!r} but '
                    f'{where} has {usage!r}; are the files in the same order?')
            if USAGE_TO_SPLIT[usage] != self.split:
                continue
            name = vrow[vcol['Image name']].strip()
            if not name:
                dropped['rows without Image name (non-faces)'] += 1
                continue
            label = self._make_label(
                [vrow[vcol[c]] for c in VOTE_COLUMNS], where)
            if label is None:
                dropped['rows without a valid emotion label'] += 1
                continue
            img = self._decode(prow[pcol['pixels']],
                               f'{self.pixel_csv}, line {pline}')
            data_list.append(dict(img=img, img_name=name,
                                  img_path=f'{self.pixel_csv}#L{pline}',
                                  **label))
        self._check_counts(n_pix, n_vote)
        return data_list

    def _check_counts(self, n_pix: int, n_vote: int, header: int = 0):
        """Raise if the two CSVs have different numbers of data rows."""
        if n_pix != n_vote:
            raise ValueError(
                f'FERPlus: row counts differ: {self.pixel_csv} has '
                f'{n_pix - header} data rows but {self.vote_csv} has '
                f'{n_vote - header}; both must list the same images in the '
                'same order')

    @staticmethod
    def _decode(pixels: str, where: str) -> np.ndarray:
        try:
            values = np.array(pixels.split(), dtype=np.int64)
        except ValueError:
            raise ValueError(
                f'FERPlus: {where}: pixels are not integers') from None
        if values.size != IMG_SIDE * IMG_SIDE or values.min() < 0 or \
                values.max() > 255:
            raise ValueError(
                f'FERPlus: {where}: expected {IMG_SIDE * IMG_SIDE} pixel '
                f'values in 0..255, got {values.size} in '
                f'{values.min() if values.size else None}..'
                f'{values.max() if values.size else None}')
        return values.astype(np.uint8).reshape(IMG_SIDE, IMG_SIDE)

    def _load_folder(self, dropped: Counter) -> List[Tuple[dict, str]]:
        records = []
        for lineno, row in _rows(self.ann_file):
            where = f'{self.ann_file}, line {lineno}'
            if len(row) not in (12, 15):  # bbox quoted or split in 4
                raise ValueError(
                    f'FERPlus: {where}: expected "name, (x, y, w, h), 10 '
                    f'votes", got {len(row)} fields')
            name = row[0].strip()
            if not name:
                dropped['rows without an image name'] += 1
                continue
            label = self._make_label(row[-len(VOTE_COLUMNS):], where)
            if label is None:
                dropped['rows without a valid emotion label'] += 1
                continue
            img_path = self.backend.join_path(self.img_prefix, name)
            records.append((dict(img_path=img_path, **label),
                            f'line {lineno}'))
        return records
