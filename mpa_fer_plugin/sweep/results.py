"""Collect the results of a sweep's runs and write them as CSV and JSON."""
import csv
import json
import os.path as osp
from typing import Dict, List, Optional

from .identity import Fingerprints, read_json_checked
from .run_config import RESULT_FILE
from .runner import LOG_FILE, META_FILE, identify, read_json
from .spec import SweepSpec

#: Fixed CSV columns (then the sweep's metrics, then per-class recall).
BASE_COLUMNS = ('row', 'dataset', 'seed', 'status', 'selection',
                'chosen_epoch', 'max_epochs', 'seconds')


def _scalar(value) -> Optional[float]:
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, list) and len(value) == 1 and \
            isinstance(value[0], (int, float)):
        return float(value[0])
    return None


def _classes(spec) -> Optional[List[str]]:
    """Class names of a run's test set, from its dumped config."""
    path = osp.join(spec.work_dir, 'run_config.py')
    if not osp.isfile(path):
        return None
    try:
        from mmengine.config import Config
        cfg = Config.fromfile(path, import_custom_modules=False)
        names = cfg.model.head.get('classnames')
    except Exception:  # noqa: BLE001  (a missing name is not fatal)
        return None
    return list(names) if names else None


def collect_results(sweep: SweepSpec,
                    status: Optional[Dict[str, dict]] = None,
                    only: Optional[List[str]] = None,
                    fps: Optional[Fingerprints] = None) -> List[dict]:
    """One record per run of the sweep (finished, failed or missing).

    A result counts (``status='done'``) only when its recorded definition
    equals the run's current one; a result of another definition is
    ``'stale'`` and an unreadable one ``'failed'``, each with an
    ``error`` that says why.

    Args:
        sweep (SweepSpec): The sweep.
        status (dict, optional): Records of :func:`run_sweep` (failure
            messages of this invocation).
        only (list[str], optional): Only the runs of these rows.
        fps (Fingerprints, optional): The cache :func:`run_sweep` used.

    Returns:
        list[dict]: Records with the fixed columns, ``metrics`` (the
        sweep's metrics by their short names), ``per_class_recall``
        (class -> recall) and, for failed or stale runs, ``log`` and
        ``error``.
    """
    status = status or {}
    records = []
    fps = fps or Fingerprints()
    runs = sweep.runs()
    for spec in runs:
        if only is not None and spec.row not in only:
            continue
        rec = dict(row=spec.row, dataset=spec.dataset, seed=spec.seed,
                   work_dir=spec.work_dir, selection=spec.selection
                   if spec.train else None)
        result_path = osp.join(spec.work_dir, RESULT_FILE)
        result, result_err = read_json_checked(result_path)
        meta = read_json(osp.join(spec.work_dir, META_FILE)) or {}
        ident = identify(spec, sweep, runs, fps) if (result or result_err) \
            else dict(state='new', detail='')
        if ident['state'] == 'done':
            metrics = result.get('metrics', {})
            rec.update(
                status='done', selection=result.get('selection'),
                chosen_epoch=result.get('chosen_epoch'),
                max_epochs=result.get('max_epochs'),
                seconds=meta.get('seconds'),
                checkpoint=result.get('checkpoint'),
                metrics={short: _scalar(metrics.get(key))
                         for short, key in sweep.metrics.items()})
            recall = next((v for k, v in metrics.items()
                           if k.startswith('per_class/recall')), None)
            names = _classes(spec)
            if isinstance(recall, list) and names and \
                    len(names) == len(recall):
                rec['per_class_recall'] = dict(zip(names, recall))
            extra = result.get('protocol')
            if extra:
                rec['protocol'] = extra
            records.append(rec)
            continue
        info = status.get(spec.run_id, {})
        log = info.get('log') or osp.join(spec.work_dir, LOG_FILE)
        if ident['state'] == 'changed':
            rec.update(status='stale', metrics={}, log=log,
                       error='not counted: definition changed since the '
                       'result was recorded (' + ident['detail'] + ')')
        elif ident['state'] in ('corrupt', 'error'):
            rec.update(status='failed', metrics={}, log=log,
                       error=ident['detail'])
        elif info.get('status') == 'failed' or meta.get('failed') or (
                bool(meta) and osp.isfile(osp.join(spec.work_dir,
                                                   LOG_FILE))):
            rec.update(status='failed', metrics={}, log=log,
                       error=info.get('error') or meta.get('failed') or
                       f'no result file {result_path}; see the log')
        else:
            rec.update(status='missing', metrics={})
        records.append(rec)
    return records


def write_results(sweep: SweepSpec, records: List[dict],
                  out_dir: Optional[str] = None) -> Dict[str, str]:
    """Write ``results.csv`` and ``results.json``; return their paths."""
    out_dir = out_dir or sweep.work_dir
    classes: List[str] = []
    for rec in records:
        for name in rec.get('per_class_recall', {}):
            if name not in classes:
                classes.append(name)
    columns = list(BASE_COLUMNS) + list(sweep.metrics) + \
        [f'recall_{c}' for c in classes] + ['log', 'error']
    csv_path = osp.join(out_dir, 'results.csv')
    with open(csv_path, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        for rec in records:
            row = [rec.get(c) for c in BASE_COLUMNS]
            row += [rec['metrics'].get(m) for m in sweep.metrics]
            recall = rec.get('per_class_recall', {})
            row += [recall.get(c) for c in classes]
            row += [rec.get('log'), rec.get('error')]
            writer.writerow(['' if v is None else v for v in row])
    json_path = osp.join(out_dir, 'results.json')
    with open(json_path, 'w') as f:
        json.dump(dict(sweep=sweep.path, selection=sweep.selection,
                       metrics=sweep.metrics, reference=sweep.reference,
                       runs=records), f, indent=1)
    return dict(csv=csv_path, json=json_path)
