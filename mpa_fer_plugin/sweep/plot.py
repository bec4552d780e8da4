"""Bar chart of a sweep: mean of the first metric with std error bars."""
from typing import List

from .spec import SweepSpec
from .tables import _cells, _values, mean_std


def plot_results(sweep: SweepSpec, records: List[dict], out_file: str,
                 metric: str = None) -> str:
    """Draw one group of bars per row, one bar per dataset, and save a PNG.

    Args:
        sweep (SweepSpec): The sweep.
        records (list[dict]): From :func:`collect_results`.
        out_file (str): The PNG to write.
        metric (str, optional): A short metric name of the sweep; default
            the first.

    Returns:
        str: ``out_file``.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    metric = metric or list(sweep.metrics)[0]
    cells = _cells(records)
    rows = [r['name'] for r in sweep.rows]
    datasets = list(sweep.datasets)
    width = 0.8 / max(1, len(datasets))
    fig, ax = plt.subplots(figsize=(max(5.0, 1.1 * len(rows) *
                                        max(1, len(datasets)) ** 0.5), 4))
    for j, ds in enumerate(datasets):
        xs, means, errs = [], [], []
        for i, row in enumerate(rows):
            vals = list(_values(cells.get((row, ds), []), metric).values())
            if not vals:
                continue
            mean, std = mean_std(vals)
            xs.append(i + (j - (len(datasets) - 1) / 2) * width)
            means.append(mean)
            errs.append(std or 0.0)
        ax.bar(xs, means, width=width, yerr=errs, capsize=3,
               label=ds if len(datasets) > 1 else None)
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels(rows, rotation=30, ha='right', fontsize=8)
    ax.set_ylabel(f'{metric} (%)')
    ax.set_title(f'{sweep.name}: {metric}, mean ± std over seeds',
                 fontsize=10)
    if len(datasets) > 1:
        ax.legend(fontsize=7)
    ax.grid(axis='y', alpha=0.3)
    fig.tight_layout()
    fig.savefig(out_file, dpi=120)
    plt.close(fig)
    return out_file
