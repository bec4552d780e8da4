"""Parts shared by the FER datasets: checked reading and file checks."""
import logging
import os.path as osp
from typing import List, Optional, Sequence, Tuple

from mmengine.fileio import get_file_backend, get_text
from mmengine.logging import print_log
from mmpretrain.datasets import BaseDataset

#: How many offending entries an error or warning lists before "...".
_MAX_LISTED = 5


def read_lines(path: str) -> List[Tuple[int, str]]:
    """Read a text file as ``(line_number, stripped_line)`` pairs.

    Blank lines are skipped; LF and CRLF endings and a UTF-8 byte-order mark
    are all accepted. Line numbers are 1-based, as editors show them.

    Args:
        path (str): The file to read.

    Returns:
        list[tuple[int, str]]: The non-blank lines with their numbers.
    """
    backend = get_file_backend(path, enable_singleton=True)
    if not backend.isfile(path):
        raise FileNotFoundError(f'annotation file not found: {path}')
    text = get_text(path, encoding='utf-8-sig')
    return [(i, line.strip()) for i, line in enumerate(text.splitlines(), 1)
            if line.strip()]


def list_entries(entries: Sequence[str]) -> str:
    """Format at most a few entries for an error message."""
    shown = '; '.join(str(e) for e in entries[:_MAX_LISTED])
    more = len(entries) - _MAX_LISTED
    return shown + (f'; ... and {more} more' if more > 0 else '')


class BaseFERDataset(BaseDataset):
    """Common checks and reporting of the FER datasets.

    Subclasses call :meth:`_check_args` before ``super().__init__`` and,
    from ``load_data_list``, :meth:`_drop_missing` on the records they built
    and :meth:`_report` once the list is final. Labels are always indices
    into ``metainfo['classes']``, a tuple of canonical class names.

    Args:
        data_root (str): Dataset root directory.
        split (str): Which split to load; one of ``SPLITS``.
        skip_missing (bool): Drop listed images that do not exist, with a
            warning that counts them, instead of raising. Defaults to
            ``False``.
        check_files (bool): Check that every listed image exists while the
            annotations are loaded. Disable only for slow remote storage;
            :class:`~.LoadFERImage` still names a missing file at load time.
            Defaults to ``True``.
        **kwargs: Passed to :class:`mmpretrain.datasets.BaseDataset`.
    """

    #: The splits a subclass accepts.
    SPLITS: Tuple[str, ...] = ('train', 'test')

    def _check_args(self, data_root: str, split: str, skip_missing: bool,
                    check_files: bool) -> str:
        """Validate the common arguments; return the expanded root."""
        name = type(self).__name__
        if split not in self.SPLITS:
            raise ValueError(f'{name}: unknown split {split!r}; expected one '
                             f'of {self.SPLITS}')
        if not data_root:
            raise ValueError(f'{name}: data_root must be given')
        data_root = osp.expanduser(data_root)
        backend = get_file_backend(data_root, enable_singleton=True)
        if not backend.isdir(data_root):
            raise FileNotFoundError(
                f'{name}: data_root {data_root} does not exist or is not a '
                'directory')
        self.split = split
        self.skip_missing = bool(skip_missing)
        self.check_files = bool(check_files)
        self.backend = backend
        return data_root

    @staticmethod
    def _classes_metainfo(metainfo: Optional[dict],
                          classes: Tuple[str, ...]) -> dict:
        """Merge user ``metainfo`` with the fixed canonical ``classes``."""
        metainfo = dict(metainfo or {})
        given = metainfo.get('classes')
        if given is not None and tuple(given) != tuple(classes):
            raise ValueError(
                f'metainfo classes {tuple(given)} differ from the canonical '
                f'classes {tuple(classes)} the labels are mapped to; choose '
                'the label set with num_classes instead')
        metainfo['classes'] = tuple(classes)
        return metainfo

    def _drop_missing(self, records: List[Tuple[dict, str]],
                      source: str) -> List[dict]:
        """Check that listed images exist.

        Args:
            records (list[tuple[dict, str]]): Data infos with ``img_path``
                and where each was listed (e.g. ``'line 12'``).
            source (str): The annotation file or folder, for messages.

        Returns:
            list[dict]: The data infos, without missing images if
            ``skip_missing``.
        """
        if not self.check_files:
            return [info for info, _ in records]
        kept, missing = [], []
        for info, where in records:
            if self.backend.isfile(info['img_path']):
                kept.append(info)
            else:
                missing.append(f'{where}: {info["img_path"]}')
        if missing and not self.skip_missing:
            raise FileNotFoundError(
                f'{type(self).__name__}: {len(missing)} image(s) listed in '
                f'{source} do not exist ({list_entries(missing)}). Pass '
                'skip_missing=True to drop them with a warning.')
        if missing:
            print_log(
                f'{type(self).__name__}: skipped {len(missing)} missing '
                f'image(s) listed in {source} ({list_entries(missing)})',
                logger='current', level=logging.WARNING)
        self._metainfo['num_missing_skipped'] = len(missing)
        return kept

    def _report(self, data_list: List[dict], source: str, **info) -> None:
        """Store ``info`` in the metainfo and log a one-line summary."""
        if not data_list:
            raise ValueError(f'{type(self).__name__}: split {self.split!r} '
                             f'of {source} is empty')
        self._metainfo.update(info)
        counts = [0] * len(self._metainfo['classes'])
        for item in data_list:
            counts[item['gt_label']] += 1
        self._metainfo['class_counts'] = tuple(counts)
        details = ', '.join(f'{k}={v}' for k, v in info.items())
        print_log(
            f'{type(self).__name__} {self.split}: {len(data_list)} images '
            f'from {source} ({details}); per class '
            + ', '.join(f'{c}={n}'
                        for c, n in zip(self._metainfo['classes'], counts)),
            logger='current')

    def get_cat_ids(self, idx: int) -> List[int]:
        """Return the canonical label of sample ``idx`` as a one-item list.

        Used by mmengine's ``ClassBalancedDataset``; soft-label samples
        report the arg-max class stored as ``gt_label``.

        Args:
            idx (int): Sample index.

        Returns:
            list[int]: ``[label]``.
        """
        return [int(self.get_data_info(idx)['gt_label'])]

    def extra_repr(self) -> List[str]:
        """Lines added to ``repr(dataset)``."""
        body = [f'Root of dataset: \t{self.data_root}',
                f'Split: \t{self.split}']
        for key in ('layout', 'image_source', 'label_mode'):
            if key in self._metainfo:
                body.append(f'{key}: \t{self._metainfo[key]}')
        return body
