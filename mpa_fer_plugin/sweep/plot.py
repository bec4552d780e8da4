"""Bar chart of a sweep: mean of the first metric with std error bars.

The bars are horizontal, one group per row (top to bottom in the sweep
file's order) and one bar per dataset: a row's name is written once,
level and at a fixed font size, whatever the number of rows, and the
figure grows in height with the rows (:func:`figure_size`). Only rows
with at least one finished run are drawn (a sweep run with ``--rows``
shows those rows, with no empty slots for the others).
"""
from typing import List, Optional, Tuple

from .spec import SweepSpec
from .tables import _cells, _values, mean_std, rows_of

#: Height of one bar group (inches), label font size (points).
GROUP_HEIGHT = 0.32
LABEL_SIZE = 9


def figure_size(num_rows: int, num_datasets: int,
                longest_label: int) -> Tuple[float, float]:
    """Width and height (inches) for a chart of this many rows."""
    group = GROUP_HEIGHT * max(1.0, 0.6 * num_datasets)
    height = 1.4 + group * max(1, num_rows)
    # labels at LABEL_SIZE take about 0.075 in per character
    width = 5.5 + min(4.5, 0.075 * longest_label)
    if num_datasets > 1:  # the legend sits right of the axes
        width += 1.3
    return width, height


def plot_results(sweep: SweepSpec, records: List[dict], out_file: str,
                 metric: Optional[str] = None) -> str:
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
    datasets = [d for d in sweep.datasets
                if any(r['dataset'] == d for r in records)] or \
        list(sweep.datasets)
    rows = [row for row in rows_of(sweep, records)
            if any(_values(cells.get((row, ds), []), metric)
                   for ds in datasets)]
    size = figure_size(len(rows), len(datasets),
                       max((len(r) for r in rows), default=0))
    fig, ax = plt.subplots(figsize=size)
    height = 0.8 / max(1, len(datasets))
    for j, ds in enumerate(datasets):
        ys, means, errs = [], [], []
        for i, row in enumerate(rows):
            vals = list(_values(cells.get((row, ds), []), metric).values())
            if not vals:
                continue
            mean, std = mean_std(vals)
            ys.append(i + (j - (len(datasets) - 1) / 2) * height)
            means.append(mean)
            errs.append(std or 0.0)
        if ys:
            ax.barh(ys, means, height=height, xerr=errs, capsize=2,
                    label=ds if len(datasets) > 1 else None)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(rows, fontsize=LABEL_SIZE)
    if rows:
        ax.set_ylim(len(rows) - 0.5, -0.5)  # the file's first row on top
    ax.set_xlabel(f'{metric} (%)')
    if not rows:
        ax.text(0.5, 0.5, 'no finished runs', ha='center', va='center',
                transform=ax.transAxes)
    ax.set_title(f'{sweep.name}: {metric}, mean ± std over seeds',
                 fontsize=10)
    if len(datasets) > 1 and rows:
        ax.legend(fontsize=8, loc='upper left', bbox_to_anchor=(1.01, 1.0),
                  borderaxespad=0.0)
    ax.grid(axis='x', alpha=0.3)
    fig.tight_layout()
    fig.savefig(out_file, dpi=100)
    plt.close(fig)
    return out_file
