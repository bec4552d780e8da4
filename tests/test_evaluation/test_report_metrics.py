"""Report metrics, subset lists and the summary over runs."""
import numpy as np
import pytest

from mpa_fer_plugin.datasets.categories import FER7_CLASSES
from mpa_fer_plugin.evaluation.report import (
    build_report,
    read_subset_list,
    run_metrics,
    summarise,
)

# 6 images, 3 classes; predictions 0, 0, 1, 1, 2, 0 for labels
# 0, 1, 1, 1, 2, 2.
SCORES = np.array([[0.8, 0.1, 0.1], [0.6, 0.3, 0.1], [0.2, 0.7, 0.1],
                   [0.1, 0.5, 0.4], [0.2, 0.2, 0.6], [0.5, 0.2, 0.3]])
LABELS = np.array([0, 1, 1, 1, 2, 2])


def test_run_metrics_by_hand():
    m = run_metrics(SCORES, LABELS, 3)
    assert m['war'] == pytest.approx(100 * 4 / 6)
    recall = [1.0, 2 / 3, 1 / 2]
    precision = [1 / 3, 1.0, 1.0]
    f1 = [2 * p * r / (p + r) for p, r in zip(precision, recall)]
    assert m['per_class']['recall'] == pytest.approx([100 * r
                                                      for r in recall])
    assert m['per_class']['precision'] == pytest.approx(
        [100 * p for p in precision])
    assert m['uar'] == pytest.approx(100 * np.mean(recall))
    assert m['macro_f1'] == pytest.approx(100 * np.mean(f1))
    assert m['confusion'] == [[1, 0, 0], [1, 2, 0], [1, 0, 1]]
    assert m['confusion_normalised'][1] == pytest.approx([100 / 3, 200 / 3,
                                                          0])
    assert m['ece_calibrated'] is None
    assert run_metrics(SCORES, LABELS, 3, temperature=2.0)[
        'ece_calibrated'] is not None


def test_summarise_mean_std_values():
    a = run_metrics(SCORES, LABELS, 3)
    b = run_metrics(SCORES[:, [1, 0, 2]], LABELS, 3)
    s = summarise([a, b])
    assert s['war']['values'] == pytest.approx([a['war'], b['war']])
    assert s['war']['mean'] == pytest.approx((a['war'] + b['war']) / 2)
    assert s['war']['std'] == pytest.approx(
        np.std([a['war'], b['war']], ddof=1))
    assert summarise([a])['war']['std'] is None
    assert 'ece_calibrated' not in s


def _names():
    return [f'data/Image/aligned/test_{i:04d}_aligned.jpg'
            for i in range(1, 8)]


def test_subset_list_with_ran_folder_labels(tmp_path):
    # canonical labels of the 7 samples: every class once, in FER7 order
    labels = list(range(7))
    # RAN folder numbers: RAF-DB order minus 1 (Surprise 0 ... Neutral 6)
    folder = {'Anger': 5, 'Disgust': 2, 'Fear': 1, 'Sadness': 4,
              'Happiness': 3, 'Surprise': 0, 'Neutral': 6}
    lst = tmp_path / 'occlusion.txt'
    lst.write_text('# RAN-style list\n'
                   f'test_0001.jpg {folder["Anger"]}\n'
                   f'test_0006.jpg {folder["Surprise"]}\n\n'
                   f'test_0007.jpg,{folder["Neutral"]}\n')
    assert read_subset_list(str(lst), _names(), labels, FER7_CLASSES) == [
        0, 5, 6]
    # read as RAF-DB codes 1-7, the same file disagrees on line 2
    with pytest.raises(ValueError, match=r'occlusion.txt, line 2: '
                       r'test_0001.jpg is labelled 5 = Sadness'):
        read_subset_list(str(lst), _names(), labels, FER7_CLASSES, 'rafdb')
    assert read_subset_list(str(lst), _names(), labels, FER7_CLASSES,
                            'none') == [0, 5, 6]
    bad = tmp_path / 'bad.txt'
    bad.write_text('test_0001.jpg\nnot_there.jpg\n')
    with pytest.raises(ValueError, match='line 2: not_there.jpg'):
        read_subset_list(str(bad), _names(), labels, FER7_CLASSES)
    with pytest.raises(FileNotFoundError):
        read_subset_list(str(tmp_path / 'x.txt'), _names(), labels,
                         FER7_CLASSES)


def test_build_report_groups_and_mismatch(tmp_path):
    rng = np.random.default_rng(0)
    labels = np.arange(7)
    runs = []
    for k in range(3):
        scores = rng.dirichlet(np.ones(7), size=7)
        runs.append(dict(name=f'seed{k}', source=f'{k}.pth', scores=scores,
                         labels=labels, names=_names(), temperature=1.5))
    lst = tmp_path / 'pose.txt'
    lst.write_text('test_0002.jpg\ntest_0003.jpg\n')
    report = build_report(runs, FER7_CLASSES, {'pose': str(lst)},
                          label_scheme='none')
    assert set(report['groups']) == {'all', 'pose'}
    pose = report['groups']['pose']
    assert pose['indices'] == [1, 2]
    assert len(pose['summary']['war']['values']) == 3
    assert pose['runs'][0]['num_images'] == 2
    other = dict(runs[1], names=list(reversed(_names())))
    with pytest.raises(ValueError, match='other images'):
        build_report([runs[0], other], FER7_CLASSES)
