"""BaseNovelMetric: base, novel and HM on hand-made scores."""
import pytest
import torch

from mpa_fer_plugin.datasets.categories import FER7_CLASSES
from mpa_fer_plugin.evaluation import BaseNovelMetric, harmonic_mean


def _samples(rows):
    return [dict(pred_score=torch.tensor(s, dtype=torch.float32),
                 gt_label=torch.tensor([y])) for s, y in rows]


def test_base_novel_restricts_scores_to_each_subset():
    # 7 canonical classes; base = Sadness(3), Happiness(4); novel = Anger(0)
    # and Fear(2). Scores over all 7: a base image is judged among the base
    # columns only, a novel image among the novel columns only.
    z = [0.0] * 7

    def s(**kw):
        out = list(z)
        for k, v in kw.items():
            out[FER7_CLASSES.index(k)] = v
        return out

    rows = [
        (s(Sadness=0.6, Anger=0.9), 3),      # base right (Anger ignored)
        (s(Happiness=0.2, Sadness=0.5), 4),  # base wrong
        (s(Anger=0.3, Happiness=0.9), 0),    # novel right (Happiness
                                             # ignored)
        (s(Fear=0.4, Anger=0.1), 0),         # novel wrong
        (s(Fear=0.7), 2),                    # novel right
        (s(Neutral=1.0), 6),                 # neither subset: ignored
    ]
    metric = BaseNovelMetric(base_classes=('Sadness', 'Happiness'),
                             novel_classes=('Anger', 'Fear'))
    metric.dataset_meta = dict(classes=FER7_CLASSES)
    metric.process(None, _samples(rows))
    out = metric.evaluate(len(rows))
    assert out['base2novel/base_top1'] == pytest.approx(50.0)
    assert out['base2novel/novel_top1'] == pytest.approx(200 / 3, abs=1e-4)
    assert out['base2novel/hm_top1'] == pytest.approx(
        2 * 50 * (200 / 3) / (50 + 200 / 3), abs=1e-4)
    # UAR: base 50 (Sadness 100, Happiness 0); novel (Anger 50, Fear 100)
    assert out['base2novel/base_uar'] == pytest.approx(50.0)
    assert out['base2novel/novel_uar'] == pytest.approx(75.0)
    assert out['base2novel/num_base'] == 2
    assert out['base2novel/num_novel'] == 3
    assert harmonic_mean(0.0, 0.0) == 0.0


def test_bad_splits_are_refused():
    with pytest.raises(ValueError, match='both base and novel'):
        BaseNovelMetric(base_classes=('Anger', ), novel_classes=('anger', ))
    metric = BaseNovelMetric(base_classes=('Anger', ),
                             novel_classes=('Pain', ))
    metric.dataset_meta = dict(classes=FER7_CLASSES)
    metric.process(None, _samples([([1.0] + [0.0] * 6, 0)]))
    with pytest.raises(ValueError, match="classes \\['Pain'\\]"):
        metric.evaluate(1)
