"""Report outputs: the stored temperature, captions and the reliability
diagram."""
import numpy as np
import torch

from mpa_fer_plugin.evaluation.report_io import (
    _caption,
    checkpoint_temperature,
    plot_reliability,
)


def test_checkpoint_temperature(tmp_path):
    plain = tmp_path / 'plain.pth'
    torch.save(dict(meta=dict(epoch=1), state_dict={}), plain)
    assert checkpoint_temperature(str(plain)) == 1.0
    cal = tmp_path / 'cal.pth'
    torch.save(dict(meta=dict(calibration=dict(temperature=1.5)),
                    state_dict={}), cal)
    assert checkpoint_temperature(str(cal)) == 1.5


def test_caption_names_everything_and_wraps():
    meta = dict(model='M', selection='last epoch', dataset='D', split='test',
                checkpoints=[f'work_dirs/seed{k}/epoch_10.pth'
                             for k in range(8)])
    text = _caption(meta, width=60)
    assert text.startswith('model: M | selection: last epoch | dataset: D '
                           '| split: test\ncheckpoints: ')
    assert all(len(line) <= 60 for line in text.splitlines()[1:])
    assert 'seed7' in text


def test_reliability_diagram_panels():
    import matplotlib
    matplotlib.use('Agg')
    rng = np.random.default_rng(0)
    runs = [dict(scores=rng.dirichlet(np.ones(3), size=20),
                 labels=rng.integers(0, 3, 20), temperature=t)
            for t in (1.0, 2.0)]
    fig = plot_reliability(runs, list(range(10)), 'caption', 5)
    assert len(fig.axes) == 2  # raw and after the temperature
    assert '20 predictions pooled over 2 run(s)' in fig.axes[0].get_title()
    fig = plot_reliability(runs[:1], list(range(10)), 'caption', 5)
    assert len(fig.axes) == 1
