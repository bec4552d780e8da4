"""Check a copy of RAF-DB, AffectNet or FERPlus before training on it.

:func:`check_dataset` reads every split with the plugin's own dataset
class (so it sees exactly what training and testing will read), then:

* counts images per split and class and compares them with the official
  counts (:data:`OFFICIAL_COUNTS`, sources in ``docs/datasets.md``) or with
  counts given by the user (``expected``);
* prints the class order the model uses (canonical index, name, the
  dataset's native code);
* finds images present in two splits (SHA-1 of the file bytes, or of the
  decoded pixels for FERPlus CSVs), missing and unreadable files;
* summarises the image sizes;
* writes a contact sheet per class (:mod:`.check_sheets`).

Every problem is a :class:`Finding`; ``FAIL`` findings make the check fail
(the tool exits with status 1 and prints ``RESULT: FAIL``), ``WARN``
findings are printed only. What fails: a split that cannot be read, a class
without images in a split, a count that differs from the expected one, an
image in two splits (up to ``allow_duplicates`` are tolerated), a missing
or unreadable image.
"""
import hashlib
import os.path as osp
from collections import Counter, defaultdict
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from .categories import (
    AFFECTNET_NATIVE,
    FERPLUS_NATIVE,
    RAFDB_NATIVE,
    native_to_canonical,
)

#: Datasets the check knows: dataset class, fixed arguments, splits read,
#: the native label order and how its codes are written.
DATASETS = {
    'rafdb': dict(type='RAFDB', args=dict(num_classes=7),
                  splits=('train', 'test'), native=RAFDB_NATIVE,
                  first_code=1),
    'affectnet7': dict(type='AffectNet', args=dict(num_classes=7),
                       splits=('train', 'val'),
                       native=AFFECTNET_NATIVE[:7], first_code=0),
    'affectnet8': dict(type='AffectNet', args=dict(num_classes=8),
                       splits=('train', 'val'), native=AFFECTNET_NATIVE,
                       first_code=0),
    'ferplus': dict(type='FERPlus', args=dict(label_mode='majority'),
                    splits=('train', 'val', 'test'), native=FERPLUS_NATIVE,
                    first_code=0),
}

#: Published counts. ``total`` is checked against the images a split
#: yields (for FERPlus: against the rows it lists, before the majority
#: rule drops some, and only in the CSV layout); ``per_class`` only where
#: the number could be verified. Sources: ``docs/datasets.md``.
OFFICIAL_COUNTS = {
    # Li et al., CVPR 2017: 12,271 training and 3,068 test images.
    'rafdb': dict(train=dict(total=12271), test=dict(total=3068)),
    # Mollahosseini et al., 2017: 500 validation images per category.
    'affectnet7': dict(val=dict(total=3500, per_class={
        c: 500 for c in AFFECTNET_NATIVE[:7]})),
    'affectnet8': dict(val=dict(total=4000, per_class={
        c: 500 for c in AFFECTNET_NATIVE})),
    # FER2013 (Goodfellow et al., 2013) rows per Usage, kept by FERPlus.
    'ferplus': dict(train=dict(total=28709, rows=True, layout='csv'),
                    val=dict(total=3589, rows=True, layout='csv'),
                    test=dict(total=3589, rows=True, layout='csv')),
}


class Finding(dict):
    """A problem: ``level`` (``'FAIL'`` or ``'WARN'``), ``split`` and
    ``message``."""

    def line(self) -> str:
        where = f'[{self["split"]}] ' if self.get('split') else ''
        return f'{self["level"]}: {where}{self["message"]}'


def class_order(name: str, classes: Sequence[str]) -> List[dict]:
    """The model's class order with each class's native code.

    Args:
        name (str): A key of :data:`DATASETS`.
        classes (Sequence[str]): The dataset's ``metainfo['classes']``.

    Returns:
        list[dict]: ``index``, ``name`` and ``native_code`` per class.
    """
    spec = DATASETS[name]
    table = native_to_canonical(spec['native'], classes)
    code = {canon: native + spec['first_code']
            for native, canon in enumerate(table)}
    return [dict(index=i, name=c, native_code=code.get(i))
            for i, c in enumerate(classes)]


def _build(name: str, data_root: str, split: str, **kwargs):
    from mmpretrain.registry import DATASETS as REGISTRY
    spec = DATASETS[name]
    cfg = dict(type=spec['type'], data_root=data_root, split=split,
               check_files=False, lazy_init=False, pipeline=[],
               **spec['args'])
    cfg.update(kwargs)
    return REGISTRY.build(cfg)


def _read(info: dict) -> Tuple[Optional[str], Optional[Tuple[int, int]],
                              Optional[np.ndarray], str]:
    """Hash, size and a small thumbnail of one sample; or a problem."""
    if info.get('img') is not None:  # FERPlus CSV: decoded pixels
        img = np.asarray(info['img'])
        digest = hashlib.sha1(img.tobytes()).hexdigest()
        return digest, img.shape[:2], img, ''
    path = info['img_path']
    if not osp.isfile(path):
        return None, None, None, 'missing'
    with open(path, 'rb') as f:
        data = f.read()
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) \
        if data else None
    if img is None:
        return None, None, None, f'unreadable ({len(data)} bytes)'
    return hashlib.sha1(data).hexdigest(), img.shape[:2], img, ''


def _size_summary(sizes: Counter) -> dict:
    sides = np.array([min(s) for s in sizes.elements()]) if sizes else \
        np.zeros(0)
    return dict(
        distinct=len(sizes),
        most_common=[dict(height=h, width=w, count=n)
                     for (h, w), n in sizes.most_common(5)],
        min_side=int(sides.min()) if sides.size else None,
        median_side=float(np.median(sides)) if sides.size else None,
        max_side=int(sides.max()) if sides.size else None)


def _compare(split: str, counts: Dict[str, int], total: int,
             expected: dict, source: str, classes: Sequence[str],
             findings: List[Finding]) -> None:
    """Compare a split's counts with an expected spec."""
    want_total = expected.get('total')
    if want_total is not None and int(want_total) != total:
        findings.append(Finding(
            level='FAIL', split=split,
            message=f'{total} images, {source} count is {want_total} '
            f'({total - int(want_total):+d})'))
    for cls, want in (expected.get('per_class') or {}).items():
        if cls not in classes:
            findings.append(Finding(
                level='FAIL', split=split,
                message=f'{source} counts name class {cls!r}, which is not '
                f'among the classes {tuple(classes)}'))
        elif counts.get(cls, 0) != int(want):
            findings.append(Finding(
                level='FAIL', split=split,
                message=f'{cls}: {counts.get(cls, 0)} images, {source} '
                f'count is {want} ({counts.get(cls, 0) - int(want):+d})'))


def normalise_expected(expected: Optional[dict]) -> Dict[str, dict]:
    """Accept ``{split: total}``, ``{split: {class: n}}`` or the official
    form ``{split: {'total': n, 'per_class': {class: n}}}``."""
    out = {}
    for split, spec in (expected or {}).items():
        if isinstance(spec, bool) or not isinstance(spec, (int, dict)):
            raise ValueError(f'expected counts of split {split!r} must be '
                             f'a number or a dict, got {spec!r}')
        if isinstance(spec, int):
            out[split] = dict(total=spec)
        elif 'total' in spec or 'per_class' in spec:
            out[split] = dict(spec)
        else:
            out[split] = dict(total=sum(int(v) for v in spec.values()),
                              per_class=dict(spec))
    return out


def check_dataset(name: str, data_root: str,
                  expected: Optional[dict] = None,
                  splits: Optional[Sequence[str]] = None,
                  allow_duplicates: int = 0,
                  **dataset_args) -> dict:
    """Run every check on one dataset copy.

    Args:
        name (str): ``'rafdb'``, ``'affectnet7'``, ``'affectnet8'`` or
            ``'ferplus'``.
        data_root (str): The dataset root, as given to the dataset class.
        expected (dict, optional): Counts to compare with instead of
            :data:`OFFICIAL_COUNTS` (see :func:`normalise_expected`).
        splits (Sequence[str], optional): Splits to read. Default: all.
        allow_duplicates (int): Images in two splits tolerated before the
            check fails. Defaults to 0.
        **dataset_args: Passed to the dataset class (``layout``,
            ``image_source``, ...).

    Returns:
        dict: ``dataset``, ``data_root``, ``classes`` (the class order),
        ``splits`` (per split: ``total``, ``per_class``, ``layout``,
        ``sizes``, ``num_dropped``), ``cross_split_duplicates``,
        ``findings``, ``samples`` (per split and class: a few readable
        images for the contact sheets), ``expected_source`` and
        ``passed``.
    """
    if name not in DATASETS:
        raise ValueError(f'unknown dataset {name!r}; expected one of '
                         f'{sorted(DATASETS)}')
    spec = DATASETS[name]
    splits = tuple(splits or spec['splits'])
    if expected is not None:
        want, source = normalise_expected(expected), 'expected'
    else:
        want, source = OFFICIAL_COUNTS.get(name, {}), 'official'
    findings: List[Finding] = []
    report = dict(dataset=name, data_root=data_root, splits={},
                  expected_source=source, reference=want, classes=None,
                  samples={})
    owners = defaultdict(list)  # hash -> [(split, name)]
    for split in splits:
        try:
            ds = _build(name, data_root, split, **dataset_args)
        except Exception as e:  # any reading error is a finding
            findings.append(Finding(level='FAIL', split=split,
                                    message=f'cannot read: {e}'))
            continue
        classes = tuple(ds.metainfo['classes'])
        report['classes'] = class_order(name, classes)
        counts, sizes = Counter(), Counter()
        samples = defaultdict(list)
        for i in range(len(ds)):
            info = ds.get_data_info(i)
            cls = classes[int(info['gt_label'])]
            counts[cls] += 1
            label = info.get('img_name') or info.get('img_path')
            digest, size, img, problem = _read(info)
            if problem:
                findings.append(Finding(level='FAIL', split=split,
                                        message=f'{problem}: {label}'))
                continue
            sizes[size] += 1
            owners[digest].append((split, str(label)))
            if len(samples[cls]) < 64:
                samples[cls].append((str(label), img))
        for cls in classes:
            if counts[cls] == 0:
                findings.append(Finding(
                    level='FAIL', split=split,
                    message=f'class {cls} has no images (a missing class '
                    'folder or label?)'))
        dropped = int(ds.metainfo.get('num_dropped', 0) or 0)
        layout = ds.metainfo.get('layout', '')
        report['splits'][split] = dict(
            total=len(ds), per_class={c: counts[c] for c in classes},
            layout=layout, num_dropped=dropped, sizes=_size_summary(sizes))
        report['samples'][split] = dict(samples)
        exp = dict(want.get(split) or {})
        if exp.get('layout') and layout and exp['layout'] != layout:
            exp = {}  # the published count is for another layout
        if exp:
            total = len(ds) + (dropped if exp.get('rows') else 0)
            _compare(split, report['splits'][split]['per_class'], total,
                     exp, source, classes, findings)
    dups = []
    for digest, where in owners.items():
        if len({s for s, _ in where}) > 1:
            dups.append(where)
    report['cross_split_duplicates'] = [
        [dict(split=s, image=n) for s, n in where] for where in dups]
    if len(dups) > allow_duplicates:
        for where in dups[:10]:
            findings.append(Finding(
                level='FAIL', split='',
                message='same image in two splits: ' + ', '.join(
                    f'{s}:{n}' for s, n in where)))
        if len(dups) > 10:
            findings.append(Finding(
                level='FAIL', split='',
                message=f'... {len(dups)} images in two splits in all'))
    elif dups:
        findings.append(Finding(
            level='WARN', split='',
            message=f'{len(dups)} image(s) in two splits (tolerated: '
            f'allow_duplicates={allow_duplicates})'))
    report['findings'] = findings
    report['passed'] = not any(f['level'] == 'FAIL' for f in findings)
    return report
