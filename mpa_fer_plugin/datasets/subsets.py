"""Dataset wrappers for the protocols: class subsets, few-shot, held-out val.

They wrap any FER dataset (``RAFDB``, ``AffectNet``, ``FERPlus``, the
synthetic faces in the RAF-DB layout, or another wrapper) given as a config
dict or a built dataset, and keep the wrapped dataset's pipeline, so
:class:`~mpa_fer_plugin.engine.PrototypeHook` (which swaps the pipeline of
the innermost dataset for the test pipeline) builds its prototypes from
exactly the images the wrapper selects.

Every selection is deterministic across processes and machines: images are
identified by their path relative to the data root (``img_path``; for
FERPlus CSVs ``fer2013.csv#L<line>``), sorted by that name within each
class, and drawn with ``numpy.random.default_rng([seed, class_index])``
(no Python ``hash()``, no global RNG state).

* :class:`ClassSubset` keeps some classes and renumbers their labels in
  the order given (base-to-novel training, cross-dataset label spaces);
* :class:`FewShotSubset` keeps K images per class chosen by a seed, written
  to / read from a JSON split file;
* :class:`HoldoutSplit` splits a set (stratified) into a training part and
  a held-out validation part for model selection.
"""
import copy
import json
import logging
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
from mmengine.logging import print_log
from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS

from .categories import get_label_set

#: ``format_version`` of the few-shot split files.
SPLIT_FORMAT = 1


def image_name(info: dict, data_root: str) -> str:
    """The stable name of a sample: its path relative to the data root."""
    path = str(info.get('img_path') or '')
    if path:
        if data_root and path.startswith(str(data_root)):
            return osp.relpath(path, data_root) if '#' not in path else \
                path[len(str(data_root)):].lstrip('/\\')
        return path
    if info.get('img_name'):
        return str(info['img_name'])
    raise ValueError(f'sample has neither img_path nor img_name: '
                     f'{sorted(info)}')


def _root(dataset) -> str:
    while getattr(dataset, 'dataset', None) is not None and \
            not getattr(dataset, 'data_root', ''):
        dataset = dataset.dataset
    return str(getattr(dataset, 'data_root', '') or '')


class _FERSubset(BaseDataset):
    """Base of the wrappers: a selection of another dataset's samples."""

    def __init__(self, dataset: Union[dict, BaseDataset],
                 test_mode: Optional[bool] = None,
                 lazy_init: bool = False) -> None:
        if isinstance(dataset, dict):
            dataset = DATASETS.build(copy.deepcopy(dataset))
        if hasattr(dataset, 'full_init'):
            dataset.full_init()
        self.dataset = dataset
        self.source_root = _root(dataset)
        if test_mode is None:
            test_mode = bool(getattr(dataset, 'test_mode', False))
        inner = copy.deepcopy(dict(dataset.metainfo))
        classes = tuple(self._target_classes(inner))
        # only the classes go through BaseDataset (it reads other string
        # values as file names); the rest is copied afterwards
        super().__init__(ann_file='', metainfo=dict(classes=classes),
                         data_root=self.source_root, pipeline=(),
                         test_mode=test_mode, lazy_init=lazy_init)
        for key, value in inner.items():
            self._metainfo.setdefault(key, value)
        self.pipeline = dataset.pipeline

    def _target_classes(self, metainfo: dict) -> Sequence[str]:
        return metainfo['classes']

    def _source_infos(self) -> List[dict]:
        return [self.dataset.get_data_info(i)
                for i in range(len(self.dataset))]

    def _by_class(self, infos: List[dict]) -> Dict[int, List[int]]:
        """Indices of ``infos`` per label, sorted by image name."""
        groups: Dict[int, List[int]] = {}
        for i, info in enumerate(infos):
            groups.setdefault(int(info['gt_label']), []).append(i)
        names = [image_name(info, self.source_root) for info in infos]
        return {c: sorted(idx, key=lambda i: names[i])
                for c, idx in sorted(groups.items())}

    def _finish(self, infos: List[dict], what: str) -> List[dict]:
        if not infos:
            raise ValueError(f'{type(self).__name__}: {what} selects no '
                             'image')
        counts = [0] * len(self._metainfo['classes'])
        for info in infos:
            counts[info['gt_label']] += 1
        self._metainfo['class_counts'] = tuple(counts)
        print_log(f'{type(self).__name__}: {what}: {len(infos)} images; '
                  'per class ' + ', '.join(
                      f'{c}={n}' for c, n in zip(self._metainfo['classes'],
                                                counts)),
                  logger='current')
        return infos


@DATASETS.register_module()
class ClassSubset(_FERSubset):
    """Keep the samples of some classes, relabelled in the given order.

    Images of the other classes are dropped, and their number per class is
    logged and stored in ``metainfo['dropped_classes']`` (class -> count):
    nothing disappears silently.

    Args:
        dataset (dict | BaseDataset): The wrapped dataset.
        classes (str | Sequence[str]): The classes to keep (names of the
            wrapped dataset's ``metainfo['classes']``, or a label-set name
            such as ``'fer7'``), in the new label order.
        test_mode (bool, optional): Default: the wrapped dataset's.
        lazy_init (bool): Defer loading. Defaults to False.
    """

    def __init__(self, dataset, classes, test_mode=None,
                 lazy_init=False) -> None:
        self.keep = tuple(get_label_set(classes))
        super().__init__(dataset, test_mode, lazy_init)

    def _target_classes(self, metainfo):
        source = tuple(metainfo['classes'])
        lower = [c.lower() for c in source]
        missing = [c for c in self.keep if c.lower() not in lower]
        if missing:
            raise ValueError(f'ClassSubset: classes {missing} are not in the '
                             f"wrapped dataset's classes {source}")
        self.mapping = {lower.index(c.lower()): j
                        for j, c in enumerate(self.keep)}
        return self.keep

    def load_data_list(self) -> List[dict]:
        """The kept samples with labels renumbered."""
        source = tuple(self.dataset.metainfo['classes'])
        infos, dropped = [], {}
        for info in self._source_infos():
            label = int(info['gt_label'])
            if label not in self.mapping:
                dropped[source[label]] = dropped.get(source[label], 0) + 1
                continue
            info['gt_label'] = self.mapping[label]
            if 'gt_score' in info:
                score = np.asarray(info['gt_score'], dtype=np.float32)
                info['gt_score'] = score[sorted(
                    self.mapping, key=self.mapping.get)]
                info['gt_score'] /= max(float(info['gt_score'].sum()), 1e-8)
            infos.append(info)
        self._metainfo['dropped_classes'] = dropped
        if dropped:
            print_log(f'ClassSubset: dropped the images of classes outside '
                      f'{self.keep}: ' + ', '.join(
                          f'{c}={n}' for c, n in dropped.items()),
                      logger='current', level=logging.WARNING)
        return self._finish(infos, f'classes {self.keep}')


@DATASETS.register_module()
class FewShotSubset(_FERSubset):
    """K images per class, chosen by a seed, recorded in a split file.

    Args:
        dataset (dict | BaseDataset): The wrapped (training) dataset.
        shots (int): Images per class (K). A class with fewer images keeps
            all of them, with a warning.
        seed (int): Seed of the draw.
        split_file (str, optional): JSON of the chosen image names. If it
            exists it is read (its ``shots``/``seed`` must match) and the
            images it names are used, so others can reuse an exact split;
            otherwise the draw is written to it. Defaults to None.
        test_mode (bool, optional): Default: the wrapped dataset's.
        lazy_init (bool): Defer loading. Defaults to False.
    """

    def __init__(self, dataset, shots: int, seed: int = 0,
                 split_file: Optional[str] = None, test_mode=None,
                 lazy_init=False) -> None:
        if not isinstance(shots, int) or shots < 1:
            raise ValueError(f'FewShotSubset: shots={shots!r} must be an '
                             'int >= 1')
        self.shots, self.seed, self.split_file = shots, int(seed), split_file
        super().__init__(dataset, test_mode, lazy_init)

    def draw(self, infos: List[dict]) -> Dict[str, List[str]]:
        """Image names per class for this seed (no file involved)."""
        classes = self._metainfo['classes']
        chosen = {}
        for label, idx in self._by_class(infos).items():
            rng = np.random.default_rng([self.seed, label])
            order = rng.permutation(len(idx))[:self.shots]
            names = [image_name(infos[idx[i]], self.source_root)
                     for i in sorted(order)]
            if len(idx) < self.shots:
                print_log(f'FewShotSubset: class {classes[label]} has only '
                          f'{len(idx)} images (< {self.shots} shots); all '
                          'are used', logger='current',
                          level=logging.WARNING)
            chosen[classes[label]] = names
        return chosen

    def _split_error(self, problem: str) -> ValueError:
        return ValueError(f'FewShotSubset: split file {self.split_file}: '
                          f'{problem}')

    def _read_split(self) -> Optional[Dict[str, List[str]]]:
        """The split file's ``images`` (checked for form), or None."""
        if not self.split_file or not osp.isfile(self.split_file):
            return None
        with open(self.split_file, 'rb') as f:
            raw = f.read()
        try:
            data = json.loads(raw.decode('utf-8'))
        except UnicodeDecodeError as exc:
            raise self._split_error(
                f'not UTF-8 text (byte {exc.start}: '
                f'{raw[exc.start:exc.start + 1]!r})') from None
        except json.JSONDecodeError as exc:
            raise self._split_error(
                f'not valid JSON (line {exc.lineno}, column {exc.colno}: '
                f'{exc.msg})') from None
        if not isinstance(data, dict):
            raise self._split_error(f'expected a JSON object with "shots", '
                                    f'"seed" and "images", got '
                                    f'{type(data).__name__}')
        version = data.get('format_version', SPLIT_FORMAT)
        if version != SPLIT_FORMAT:
            raise self._split_error(f'format_version {version!r}; this '
                                    f'version reads {SPLIT_FORMAT}')
        for key, want in (('shots', self.shots), ('seed', self.seed)):
            if data.get(key) != want:
                raise self._split_error(
                    f'{key}={data.get(key)!r} but the dataset asks for '
                    f'{key}={want!r}; use another file or matching settings')
        images = data.get('images')
        if images is None:
            raise self._split_error(
                f'no "images" key (it has {sorted(data)}); expected '
                '"images": {class name: [image names]}')
        if not isinstance(images, dict) or not all(
                isinstance(v, list) and all(isinstance(n, str) for n in v)
                for v in images.values()):
            raise self._split_error('"images" must map each class name to '
                                    'a list of image names')
        return images

    def _check_split(self, chosen: Dict[str, List[str]],
                     infos: List[dict]) -> None:
        """Every class, K names each (or all it has), no name twice."""
        classes = list(self._metainfo['classes'])
        unknown = sorted(set(chosen) - set(classes))
        if unknown:
            raise self._split_error(f'classes {unknown} are not classes of '
                                    f'the dataset {classes}')
        absent = [c for c in classes if not chosen.get(c)]
        if absent:
            raise self._split_error(
                f'no images for class(es) {absent}: a {self.shots}-shot '
                'split needs every class (the prompts of a class without '
                'shots are never trained)')
        available = {classes[label]: len(idx)
                     for label, idx in self._by_class(infos).items()}
        for name in classes:
            want = min(self.shots, available.get(name, 0))
            if len(chosen[name]) != want:
                raise self._split_error(
                    f'class {name} has {len(chosen[name])} images, but a '
                    f'{self.shots}-shot split has {want} (the dataset has '
                    f'{available.get(name, 0)} of that class)')
        seen: Dict[str, str] = {}
        for name in classes:
            for image in chosen[name]:
                if image in seen:
                    where = 'twice in class ' + name if seen[image] == \
                        name else f'in classes {seen[image]} and {name}'
                    raise self._split_error(f'image {image!r} is listed '
                                            f'{where}')
                seen[image] = name

    def _write_split(self, chosen: Dict[str, List[str]]) -> None:
        folder = osp.dirname(osp.abspath(self.split_file))
        os.makedirs(folder, exist_ok=True)
        tmp = f'{self.split_file}.tmp{os.getpid()}'
        with open(tmp, 'w') as f:
            json.dump(dict(format_version=SPLIT_FORMAT, shots=self.shots,
                           seed=self.seed, data_root=self.source_root,
                           dataset=type(self.dataset).__name__,
                           classes=list(self._metainfo['classes']),
                           images=chosen), f, indent=1)
        os.replace(tmp, self.split_file)

    def load_data_list(self) -> List[dict]:
        """The K shots per class (from the split file if it exists)."""
        infos = self._source_infos()
        chosen = self._read_split()
        source = 'drawn'
        if chosen is None:
            chosen = self.draw(infos)
            if self.split_file:
                self._write_split(chosen)
        else:
            self._check_split(chosen, infos)
            source = f'read from {self.split_file}'
        wanted = {n: c for c, names in chosen.items() for n in names}
        classes = self._metainfo['classes']
        kept = [info for info in infos
                if image_name(info, self.source_root) in wanted]
        found = {image_name(i, self.source_root) for i in kept}
        missing = sorted(set(wanted) - found)
        if missing:
            raise FileNotFoundError(
                f'FewShotSubset: {len(missing)} image(s) of the split '
                f'({self.split_file}) are not in the dataset: '
                f'{missing[:5]}')
        for info in kept:
            name = wanted[image_name(info, self.source_root)]
            if classes[info['gt_label']] != name:
                raise ValueError(
                    f'FewShotSubset: {image_name(info, self.source_root)} '
                    f'is {classes[info["gt_label"]]} in the dataset but '
                    f'{name} in the split file {self.split_file}')
        self._metainfo['few_shot'] = dict(shots=self.shots, seed=self.seed,
                                          split_file=self.split_file)
        return self._finish(kept, f'{self.shots}-shot split, seed '
                            f'{self.seed}, {source}')


@DATASETS.register_module()
class HoldoutSplit(_FERSubset):
    """Split a set into train and a held-out validation part (stratified).

    Each class gives ``round(val_fraction * n)`` images to the validation
    part (at least one if it has two or more), drawn by ``seed`` from the
    images sorted by name; ``part='train'`` keeps the rest. The two parts
    of the same settings are disjoint and cover the set.

    Args:
        dataset (dict | BaseDataset): The wrapped (training) dataset.
        part (str): ``'train'`` or ``'val'``.
        val_fraction (float): Share of each class held out. Default 0.1.
        seed (int): Seed of the draw. Defaults to 0.
        test_mode (bool, optional): Default: the wrapped dataset's.
        lazy_init (bool): Defer loading. Defaults to False.
    """

    def __init__(self, dataset, part: str, val_fraction: float = 0.1,
                 seed: int = 0, test_mode=None, lazy_init=False) -> None:
        if part not in ('train', 'val'):
            raise ValueError(f"HoldoutSplit: part={part!r} must be 'train' "
                             "or 'val'")
        if not 0 < val_fraction < 1:
            raise ValueError(f'HoldoutSplit: val_fraction={val_fraction} '
                             'must be in (0, 1)')
        self.part, self.val_fraction = part, float(val_fraction)
        self.seed = int(seed)
        super().__init__(dataset, test_mode, lazy_init)

    def load_data_list(self) -> List[dict]:
        """The requested part."""
        infos = self._source_infos()
        held = set()
        for label, idx in self._by_class(infos).items():
            n_val = int(round(self.val_fraction * len(idx)))
            if len(idx) >= 2:
                n_val = min(max(n_val, 1), len(idx) - 1)
            rng = np.random.default_rng([self.seed, label])
            held.update(idx[i] for i in rng.permutation(len(idx))[:n_val])
        keep = [info for i, info in enumerate(infos)
                if (i in held) == (self.part == 'val')]
        return self._finish(keep, f'{self.part} part (val_fraction '
                            f'{self.val_fraction}, seed {self.seed})')
