"""The bar chart: readable at any row count, only the rows run."""
from PIL import Image

from mpa_fer_plugin.sweep.plot import LABEL_SIZE, figure_size, plot_results
from mpa_fer_plugin.sweep.spec import SweepSpec


def _sweep(n_rows, datasets=('d1',)):
    return SweepSpec(
        path='x/big.py', work_dir='w', seeds=[0, 1], selection='last',
        rows=[dict(name=f'row {i:02d} with a longer name', config='a.py')
              for i in range(n_rows)],
        datasets={d: {} for d in datasets}, reference=None,
        metrics=dict(WAR='accuracy/top1'))


def _recs(rows, datasets=('d1',)):
    return [dict(row=r, dataset=d, seed=s, status='done',
                 metrics=dict(WAR=50.0 + i + s)) for i, r in enumerate(rows)
            for d in datasets for s in (0, 1)]


def _labels(monkeypatch):
    """The y tick labels of the next chart."""
    import matplotlib.axes
    seen = []
    real = matplotlib.axes.Axes.set_yticklabels

    def spy(self, labels, **kw):
        seen.append((list(labels), kw.get('fontsize')))
        return real(self, labels, **kw)
    monkeypatch.setattr(matplotlib.axes.Axes, 'set_yticklabels', spy)
    return seen


def test_height_grows_with_rows_and_label_size_is_fixed(tmp_path,
                                                        monkeypatch):
    seen = _labels(monkeypatch)
    heights = {}
    for n in (3, 40):
        sweep = _sweep(n)
        out = plot_results(sweep, _recs([r['name'] for r in sweep.rows]),
                           str(tmp_path / f'{n}.png'))
        width, heights[n] = Image.open(out).size
        assert width <= 1000  # not 2772 px wide
    # about the same room per row at 3 and at 40 rows
    per_row = {n: heights[n] / n for n in heights}
    assert heights[40] > 4 * heights[3]
    assert 25 <= per_row[40] <= 60
    assert [fs for _, fs in seen] == [LABEL_SIZE, LABEL_SIZE]
    assert figure_size(40, 1, 10)[1] > figure_size(3, 1, 10)[1]


def test_only_rows_with_finished_runs_are_drawn(tmp_path, monkeypatch):
    seen = _labels(monkeypatch)
    sweep = _sweep(6)
    names = [r['name'] for r in sweep.rows]
    recs = _recs(names[:2])  # the --rows case: two rows run
    recs.append(dict(row=names[3], dataset='d1', seed=0, status='failed',
                     metrics={}))
    out = plot_results(sweep, recs, str(tmp_path / 'two.png'))
    assert seen[-1][0] == names[:2]
    assert Image.open(out).size[1] < Image.open(plot_results(
        _sweep(6), _recs(names), str(tmp_path / 'six.png'))).size[1]
    plot_results(sweep, [], str(tmp_path / 'none.png'))
    assert seen[-1][0] == []
