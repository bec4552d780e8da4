"""The evaluation report: every figure a reviewer asks for, per seed and
as mean ± std, on the whole split and on subsets.

:func:`run_metrics` computes, from one run's softmax scores, WAR
(mmpretrain ``Accuracy``), UAR and macro-F1 with per-class precision,
recall and F1 (``SingleLabelMetric``), the confusion matrix
(``ConfusionMatrix``, also row-normalised) and the expected calibration
error, before and after the run's calibration temperature.
:func:`summarise` gives mean ± sample standard deviation over runs with
each run's value; :func:`read_subset_list` turns a list of image names
(the RAN occlusion / pose lists, or any list) into sample indices;
:func:`build_report` puts it together and :mod:`.report_figures` writes
the Markdown and the figures.
"""
import os.path as osp
import re
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch

from ..datasets.categories import RAFDB_NATIVE, native_to_canonical
from .calibration import (
    NUM_BINS,
    expected_calibration_error,
    logits_from_probs,
    softmax,
)

#: Label columns of subset lists: how to turn them into class indices.
#: ``'rafdb-folder'``: folder numbers 0-6 in RAF-DB's order (Surprise,
#: Fear, Disgust, Happiness, Sadness, Anger, Neutral), as in the RAN lists;
#: ``'rafdb'``: RAF-DB's label codes 1-7; ``'canonical'``: indices of the
#: model's classes; ``'none'``: ignore any label column.
LABEL_SCHEMES = ('rafdb-folder', 'rafdb', 'canonical', 'none')
#: Scalar metrics of a run, in report order, with their display names.
SCALARS = (('war', 'WAR'), ('uar', 'UAR'), ('macro_f1', 'macro-F1'),
           ('macro_precision', 'macro precision'), ('ece', 'ECE'),
           ('ece_calibrated', 'ECE after T'))


def run_metrics(scores: np.ndarray, labels: np.ndarray,
                num_classes: int, temperature: float = 1.0,
                num_bins: int = NUM_BINS) -> Dict[str, object]:
    """All metrics of one run, in percent.

    Args:
        scores (np.ndarray): ``[N, C]`` softmax scores at temperature 1
            (``pred_score`` of ``tools/test.py --out x.pkl``).
        labels (np.ndarray): ``[N]`` true classes.
        num_classes (int): ``C``.
        temperature (float): The run's calibration temperature (1: none).
        num_bins (int): ECE bins. Defaults to 15.

    Returns:
        dict: ``war``, ``uar``, ``macro_f1``, ``macro_precision``,
        ``ece``, ``ece_calibrated`` (None when ``temperature == 1``),
        ``temperature``, ``per_class`` (``precision``, ``recall``, ``f1``,
        ``support`` lists), ``confusion`` (counts) and
        ``confusion_normalised`` (rows sum to 100), ``num_images``.
    """
    from mmpretrain.evaluation import (
        Accuracy,
        ConfusionMatrix,
        SingleLabelMetric,
    )
    scores_t = torch.as_tensor(np.asarray(scores, np.float32))
    target = torch.as_tensor(np.asarray(labels, np.int64))
    if scores_t.ndim != 2 or scores_t.shape[1] != num_classes:
        raise ValueError(f'scores must be [N, {num_classes}], got '
                         f'{tuple(scores_t.shape)}')
    war = float(Accuracy.calculate(scores_t, target, topk=(1, ))[0][0])
    p, r, f, _ = SingleLabelMetric.calculate(scores_t, target,
                                             average='macro')[0]
    pc, rc, fc, sc = SingleLabelMetric.calculate(scores_t, target,
                                                 average=None)[0]
    matrix = ConfusionMatrix.calculate(scores_t, target,
                                       num_classes=num_classes).numpy()
    rows = matrix.sum(axis=1, keepdims=True)
    normalised = np.divide(100.0 * matrix, rows,
                           out=np.zeros(matrix.shape), where=rows > 0)
    ece = 100 * expected_calibration_error(scores, labels, num_bins)
    ece_cal = None
    if float(temperature) != 1.0:
        ece_cal = 100 * expected_calibration_error(
            softmax(logits_from_probs(scores), temperature), labels,
            num_bins)
    return dict(
        war=war, uar=float(r), macro_f1=float(f), macro_precision=float(p),
        ece=ece, ece_calibrated=ece_cal, temperature=float(temperature),
        per_class=dict(precision=pc.tolist(), recall=rc.tolist(),
                       f1=fc.tolist(), support=[int(v) for v in sc]),
        confusion=matrix.astype(int).tolist(),
        confusion_normalised=normalised.tolist(),
        num_images=int(len(labels)))


def summarise(runs: Sequence[Dict[str, object]]) -> Dict[str, dict]:
    """Mean, sample standard deviation (n - 1) and the values per run.

    Args:
        runs (Sequence[dict]): :func:`run_metrics` results.

    Returns:
        dict: ``{metric: {'mean', 'std', 'values'}}`` for the scalars and
        ``per_class/<item>/<index>``; ``std`` is None with one run.
    """
    def stats(values):
        arr = np.array(values, np.float64)
        return dict(mean=float(arr.mean()),
                    std=float(arr.std(ddof=1)) if len(arr) > 1 else None,
                    values=[float(v) for v in arr])

    out = {}
    for key, _ in SCALARS:
        values = [r[key] for r in runs]
        if all(v is not None for v in values):
            out[key] = stats(values)
    for item in ('precision', 'recall', 'f1'):
        for c in range(len(runs[0]['per_class'][item])):
            out[f'per_class/{item}/{c}'] = stats(
                [r['per_class'][item][c] for r in runs])
    return out


def _key(name: str) -> str:
    """Match key of an image name: file name, lower case, no ``_aligned``."""
    base = osp.basename(str(name).replace('\\', '/')).lower()
    stem, ext = osp.splitext(base)
    return re.sub(r'_aligned$', '', stem) + ext


def read_subset_list(path: str, names: Sequence[str],
                     labels: Sequence[int], classes: Sequence[str],
                     label_scheme: str = 'rafdb-folder') -> List[int]:
    """Indices of the samples named in a subset list.

    Each non-empty line is ``<image name> [label]`` (``#`` starts a
    comment; separators: spaces, tabs or one comma). Names match the
    samples' file names without folders and without RAF-DB's
    ``_aligned`` suffix (``test_0001.jpg`` matches
    ``Image/aligned/test_0001_aligned.jpg``). A label, when present and
    ``label_scheme`` is not ``'none'``, must agree with the sample's label
    (a wrong scheme, e.g. RAF-DB's 1-7 codes read as folder numbers, fails
    on the first line that disagrees).

    Args:
        path (str): The list file.
        names (Sequence[str]): Image names (paths) of the samples.
        labels (Sequence[int]): Their labels (indices into ``classes``).
        classes (Sequence[str]): The model's classes.
        label_scheme (str): One of :data:`LABEL_SCHEMES`.

    Returns:
        list[int]: Sample indices, in list order.
    """
    if label_scheme not in LABEL_SCHEMES:
        raise ValueError(f'label_scheme={label_scheme!r} must be one of '
                         f'{LABEL_SCHEMES}')
    if not osp.isfile(path):
        raise FileNotFoundError(f'subset list not found: {path}')
    index: Dict[str, int] = {}
    for i, name in enumerate(names):
        key = _key(name)
        if key in index:
            raise ValueError(f'{path}: two samples share the file name '
                             f'{key} ({names[index[key]]}, {name}); '
                             'subset lists cannot tell them apart')
        index[key] = i
    to_label = None
    if label_scheme in ('rafdb-folder', 'rafdb'):
        to_label = native_to_canonical(RAFDB_NATIVE, classes)
    chosen, unknown, seen = [], [], set()
    with open(path, encoding='utf-8-sig') as f:
        for lineno, line in enumerate(f, 1):
            line = line.split('#', 1)[0].strip()
            if not line:
                continue
            parts = line.replace(',', ' ').split()
            key = _key(parts[0])
            if key not in index:
                unknown.append(f'line {lineno}: {parts[0]}')
                continue
            i = index[key]
            if len(parts) > 1 and label_scheme != 'none':
                code = parts[1]
                try:
                    value = int(code) - (1 if label_scheme == 'rafdb' else 0)
                    want = to_label[value] if to_label else value
                    if value < 0 or want >= len(classes):
                        raise IndexError
                except (ValueError, IndexError):
                    raise ValueError(
                        f'{path}, line {lineno}: label {code!r} is not a '
                        f'{label_scheme} label') from None
                if want != int(labels[i]):
                    raise ValueError(
                        f'{path}, line {lineno}: {parts[0]} is labelled '
                        f'{code} = {classes[want]} ({label_scheme} labels) '
                        f'but the dataset says {classes[int(labels[i])]}; '
                        'is --subset-labels right?')
            if i not in seen:
                seen.add(i)
                chosen.append(i)
    if unknown:
        from ..datasets.base_fer import list_entries
        raise ValueError(f'{path}: {len(unknown)} listed image(s) are not '
                         f'in the evaluated split ({list_entries(unknown)})')
    if not chosen:
        raise ValueError(f'{path} lists no image')
    return chosen


def build_report(runs: Sequence[dict], classes: Sequence[str],
                 subsets: Optional[Dict[str, str]] = None,
                 label_scheme: str = 'rafdb-folder',
                 num_bins: int = NUM_BINS) -> dict:
    """Metrics of every run on the split and on each subset.

    Args:
        runs (Sequence[dict]): Each with ``name`` (e.g. the seed),
            ``source`` (checkpoint or result file), ``scores``, ``labels``,
            ``names`` and ``temperature``. All runs must cover the same
            images in the same order.
        classes (Sequence[str]): The model's classes.
        subsets (dict[str, str], optional): Subset name -> list file.
        label_scheme (str): Label column of the lists (see
            :data:`LABEL_SCHEMES`).
        num_bins (int): ECE bins.

    Returns:
        dict: ``classes``, ``runs`` (name, source, temperature) and
        ``groups``: ``{'all' | subset: {'indices', 'runs': [metrics],
        'summary'}}``.
    """
    if not runs:
        raise ValueError('no runs to report')
    ref = runs[0]
    for run in runs[1:]:
        if [_key(n) for n in run['names']] != [_key(n)
                                               for n in ref['names']]:
            raise ValueError(f'{run["source"]} was evaluated on other '
                             f'images than {ref["source"]}')
    groups = {'all': list(range(len(ref['labels'])))}
    for name, path in (subsets or {}).items():
        groups[name] = read_subset_list(path, ref['names'], ref['labels'],
                                        classes, label_scheme)
    report = dict(classes=list(classes), groups={}, runs=[
        dict(name=r['name'], source=r['source'],
             temperature=float(r.get('temperature', 1.0))) for r in runs])
    for name, idx in groups.items():
        per_run = [run_metrics(np.asarray(r['scores'])[idx],
                               np.asarray(r['labels'])[idx], len(classes),
                               r.get('temperature', 1.0), num_bins)
                   for r in runs]
        report['groups'][name] = dict(indices=idx, runs=per_run,
                                      summary=summarise(per_run))
    return report
