"""Readable confusion matrix: row-normalised recall, values, title."""
import matplotlib

matplotlib.use('Agg')

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from mpa_fer_plugin.visualization import (  # noqa: E402
    plot_confusion_matrix,
    recall_matrix,
)

COUNTS = np.array([[90, 10, 0], [1, 3, 0], [0, 0, 0]])


def _texts(fig):
    return [t.get_text() for t in fig.axes[0].texts]


def test_recall_matrix_rows_are_percent():
    rec = recall_matrix(torch.tensor(COUNTS))
    np.testing.assert_allclose(rec[:2].sum(axis=1), [100, 100])
    assert rec[1, 1] == pytest.approx(75.0)
    assert (rec[2] == 0).all()  # a class without test images


def test_plot_shows_recall_war_uar_and_a_colour_bar():
    fig = plot_confusion_matrix(COUNTS, ['Anger', 'Fear', 'Pain'],
                                title='Demo')
    try:
        ax = fig.axes[0]
        title = ax.get_title()
        # WAR = 93/104, UAR = mean(90, 75) over the classes with images.
        assert title.startswith('Demo\n') and 'WAR 89.4 %' in title
        assert 'UAR 82.5 %' in title and '104 images' in title
        assert _texts(fig)[:2] == ['90.0', '10.0'] and '75.0' in _texts(fig)
        assert len(fig.axes) == 2  # the matrix and its colour bar
        assert 'recall' in fig.axes[1].get_ylabel()
        assert [t.get_text() for t in ax.get_yticklabels()][0] == \
            'Anger (n=100)'
        assert ax.get_xlabel() == 'predicted class'
    finally:
        plt.close(fig)
    fig = plot_confusion_matrix(COUNTS, normalize='recall',
                                include_counts=True)
    assert _texts(fig)[0] == '90.0\n(90)'
    plt.close(fig)
    fig = plot_confusion_matrix(COUNTS, normalize='none')
    assert _texts(fig)[:2] == ['90', '10']
    assert 'number of test images' in fig.axes[1].get_ylabel()
    plt.close(fig)
    fig = plot_confusion_matrix(COUNTS, include_values=False)
    assert _texts(fig) == []
    plt.close(fig)


def test_bad_input():
    with pytest.raises(ValueError, match='square'):
        plot_confusion_matrix(np.zeros((2, 3)))
    with pytest.raises(ValueError, match='2 class names'):
        plot_confusion_matrix(COUNTS, ['a', 'b'])
    with pytest.raises(ValueError, match='normalize'):
        plot_confusion_matrix(COUNTS, normalize='precision')
