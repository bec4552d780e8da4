"""Inputs and outputs of the evaluation report.

:func:`load_runs` gets each run's per-image scores from a checkpoint
(through :func:`~.predictions.collect_predictions`, the ``tools/test.py``
path) or from a ``tools/test.py --out x.pkl`` result file;
:func:`write_report` writes ``report.md``, ``report.json`` and the
figures (row-normalised confusion matrix and reliability diagram of the
whole split and of every subset), each titled with the model, the
checkpoints, the selection rule, the dataset and the split.
"""
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np

from .calibration import (
    META_KEY,
    check_temperature,
    logits_from_probs,
    reliability_bins,
    softmax,
)
from .report import SCALARS


def checkpoint_temperature(checkpoint: str) -> float:
    """``meta['calibration']['temperature']`` of a checkpoint, else 1."""
    from ..utils.safe_checkpoint import safe_torch_load
    ckpt = safe_torch_load(checkpoint, map_location='cpu')
    record = ((ckpt.get('meta') or {}) if isinstance(ckpt, dict)
              else {}).get(META_KEY)
    return check_temperature(record['temperature'], checkpoint) \
        if record else 1.0


def load_runs(config: str, checkpoints: Sequence[str] = (),
              results: Sequence[str] = (), split: str = 'test',
              names: Optional[Sequence[str]] = None) -> List[dict]:
    """Per-image scores of every run.

    Args:
        config (str): The config of the checkpoints.
        checkpoints (Sequence[str]): Checkpoints (one per seed).
        results (Sequence[str]): ``tools/test.py --out x.pkl`` files.
        split (str): Split the checkpoints are run on. Defaults to
            ``'test'``.
        names (Sequence[str], optional): Run names (default: the file
            names).

    Returns:
        list[dict]: ``name``, ``source``, ``scores``, ``labels``, ``names``,
        ``temperature`` and ``metrics`` (those ``tools/test.py`` prints;
        empty for result files).
    """
    from .predictions import collect_predictions, load_result_file
    sources = list(checkpoints) + list(results)
    if not sources:
        raise ValueError('give at least one checkpoint or result file')
    if names is not None and len(names) != len(sources):
        raise ValueError(f'{len(names)} run names for {len(sources)} runs')
    runs = []
    for k, path in enumerate(sources):
        if k < len(checkpoints):
            preds = collect_predictions(config, path, split)
            temperature = checkpoint_temperature(path)
        else:
            preds = load_result_file(path)
            preds['metrics'] = {}
            temperature = 1.0
        run_name = names[k] if names else osp.splitext(
            osp.basename(path))[0] if len(set(map(osp.basename, sources))) \
            == len(sources) else osp.relpath(path)
        runs.append(dict(name=run_name, source=path,
                         temperature=temperature, **preds))
    return runs


def _caption(meta: dict, width: int = 110) -> str:
    import textwrap
    ckpts = textwrap.fill('checkpoints: ' + ', '.join(meta['checkpoints']),
                          width)
    return (f'model: {meta["model"]} | selection: {meta["selection"]} | '
            f'dataset: {meta["dataset"]} | split: {meta["split"]}\n{ckpts}')


def _fmt(stat: Optional[dict]) -> str:
    if not stat:
        return '-'
    std = '' if stat['std'] is None else f' ± {stat["std"]:.2f}'
    return f'{stat["mean"]:.2f}{std}'


def plot_reliability(runs: Sequence[dict], indices: Sequence[int],
                     caption: str, num_bins: int):
    """Reliability diagram(s): accuracy vs confidence per bin, pooled
    over runs, before and (if any run is calibrated) after the
    temperature."""
    import matplotlib.pyplot as plt
    idx = np.asarray(indices)
    labels = np.concatenate([np.asarray(r['labels'])[idx] for r in runs])
    before = np.concatenate([np.asarray(r['scores'])[idx] for r in runs])
    panels = [('temperature 1 (raw)', before)]
    if any(r['temperature'] != 1.0 for r in runs):
        after = np.concatenate([
            softmax(logits_from_probs(np.asarray(r['scores'])[idx]),
                    r['temperature']) for r in runs])
        panels.append(('after the stored temperature', after))
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels),
                                                      5.4), dpi=100,
                             squeeze=False)
    for ax, (title, probs) in zip(axes[0], panels):
        bins = reliability_bins(probs, labels, num_bins)
        centers = (bins['edges'][:-1] + bins['edges'][1:]) / 2
        width = 1.0 / num_bins
        acc = np.nan_to_num(bins['accuracy'])
        ax.bar(centers, acc, width=width * 0.95, color='tab:blue',
               edgecolor='black', label='accuracy of the bin')
        ax.plot([0, 1], [0, 1], '--', color='gray', label='perfect')
        ax.plot(centers[bins['count'] > 0],
                bins['confidence'][bins['count'] > 0], 'o', color='tab:red',
                label='mean confidence of the bin')
        ece = 100 * float(np.nansum(bins['count'] * np.abs(
            bins['accuracy'] - bins['confidence'])) / bins['count'].sum())
        ax.set_title(f'{title}: ECE {ece:.2f} %\n({len(labels)} '
                     f'predictions pooled over {len(runs)} run(s))',
                     fontsize=9)
        ax.set_xlabel('confidence (top softmax probability)')
        ax.set_ylabel('accuracy')
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.legend(loc='upper left', fontsize=8)
    fig.suptitle(caption, fontsize=8)
    fig.tight_layout()  # leaves room for the caption (suptitle)
    return fig


def write_report(report: dict, runs: Sequence[dict], meta: dict,
                 out_dir: str, num_bins: int = 15) -> Dict[str, str]:
    """Write ``report.md``, ``report.json`` and the PNGs.

    Args:
        report (dict): From :func:`~.report.build_report`.
        runs (Sequence[dict]): From :func:`load_runs`.
        meta (dict): ``model``, ``selection``, ``dataset``, ``split``,
            ``checkpoints`` (names) and ``command``.
        out_dir (str): Output folder (created).
        num_bins (int): ECE bins.

    Returns:
        dict: Paths of the written files by role.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    from ..visualization.confusion import plot_confusion_matrix
    os.makedirs(out_dir, exist_ok=True)
    caption = _caption(meta)
    classes = report['classes']
    files = {}
    md = ['# Evaluation report', '',
          f'* model: {meta["model"]}', f'* dataset: {meta["dataset"]}',
          f'* split: {meta["split"]}',
          f'* checkpoint selection: {meta["selection"]}',
          f'* command: `{meta["command"]}`', '',
          '| run | source | calibration temperature |', '|---|---|---:|']
    md += [f'| {r["name"]} | `{r["source"]}` | {r["temperature"]:.4f} |'
           for r in report['runs']]
    md += ['', 'Metrics in %, mean ± sample standard deviation over the '
           "runs, then each run's value. ECE: expected calibration error "
           f'({num_bins} equal-width confidence bins); "after T" applies '
           "each checkpoint's stored temperature (same arg-max, so WAR, "
           'UAR and F1 do not change).']
    for group, data in report['groups'].items():
        n = data['runs'][0]['num_images']
        title = 'All images' if group == 'all' else f'Subset {group}'
        md += ['', f'## {title} ({n} images)', '',
               '| metric | mean ± std | ' + ' | '.join(
                   r['name'] for r in report['runs']) + ' |',
               '|---|---:|' + '---:|' * len(report['runs'])]
        for key, label in SCALARS:
            stat = data['summary'].get(key)
            if stat:
                md.append(f'| {label} | {_fmt(stat)} | ' + ' | '.join(
                    f'{v:.2f}' for v in stat['values']) + ' |')
        md += ['', '| class | support | precision | recall | F1 |',
               '|---|---:|---:|---:|---:|']
        for c, name in enumerate(classes):
            s = data['summary']
            support = data['runs'][0]['per_class']['support'][c]
            md.append(f'| {name} | {support}'
                      f' | {_fmt(s[f"per_class/precision/{c}"])} | '
                      f'{_fmt(s[f"per_class/recall/{c}"])} | '
                      f'{_fmt(s[f"per_class/f1/{c}"])} |')
        counts = np.sum([r['confusion'] for r in data['runs']], axis=0)
        fig = plot_confusion_matrix(
            counts, classes, title=f'{title}, summed over '
            f'{len(runs)} run(s)\n{caption}')
        cm_file = osp.join(out_dir, f'confusion_{group}.png')
        fig.savefig(cm_file)
        plt.close(fig)
        fig = plot_reliability(runs, data['indices'], f'{title}\n{caption}',
                               num_bins)
        rel_file = osp.join(out_dir, f'reliability_{group}.png')
        fig.savefig(rel_file)
        plt.close(fig)
        files[f'confusion_{group}'] = cm_file
        files[f'reliability_{group}'] = rel_file
        md += ['', f'![row-normalised confusion matrix, {title}]'
               f'({osp.basename(cm_file)})', '',
               f'![reliability diagram, {title}]'
               f'({osp.basename(rel_file)})']
    files['markdown'] = osp.join(out_dir, 'report.md')
    with open(files['markdown'], 'w') as f:
        f.write('\n'.join(md) + '\n')
    files['json'] = osp.join(out_dir, 'report.json')
    data = dict(meta=meta, **{k: v for k, v in report.items()})
    for group in data['groups'].values():
        group['indices'] = list(map(int, group['indices']))
    data['test_metrics'] = [
        {k: (v.tolist() if hasattr(v, 'tolist') else v)
         for k, v in r.get('metrics', {}).items()} for r in runs]
    with open(files['json'], 'w') as f:
        json.dump(data, f, indent=2)
    return files
