"""Base-to-novel accuracy (CoCoOp protocol): base, novel and their HM.

The model is trained on the base classes only and tested on images of all
classes, scored against the names of all classes through the learned
shared context (:class:`~mpa_fer_plugin.evaluation.EvalClassNamesHook`).
As in CoCoOp (Zhou et al., CVPR 2022), the base accuracy is measured on
the base-class test images among the base classes only, the novel
accuracy on the novel-class images among the novel classes only, and the
summary is their harmonic mean ``HM = 2 * base * novel / (base + novel)``.
"""
from typing import List, Optional, Sequence

import torch
from mmengine.evaluator import BaseMetric
from mmpretrain.evaluation import Accuracy, SingleLabelMetric
from mmpretrain.registry import METRICS

from ..datasets.categories import get_label_set


def harmonic_mean(a: float, b: float) -> float:
    """``2ab / (a + b)`` (0 when both are 0)."""
    return 0.0 if a + b == 0 else 2 * a * b / (a + b)


@METRICS.register_module()
class BaseNovelMetric(BaseMetric):
    """Base, novel and harmonic-mean accuracy and UAR.

    Keys (prefix ``base2novel``): ``base_top1``, ``novel_top1``,
    ``hm_top1`` (WAR within each subset), ``base_uar``, ``novel_uar``,
    ``hm_uar`` (macro recall within each subset), computed with
    mmpretrain's :class:`Accuracy` and :class:`SingleLabelMetric` on the
    scores restricted to the subset's classes.

    Args:
        base_classes (str | Sequence[str]): Names of the base classes.
        novel_classes (str | Sequence[str]): Names of the novel classes.
            Both must be classes of the test dataset (its
            ``metainfo['classes']`` is the order of the scores).
        collect_device (str): As in mmengine. Defaults to ``'cpu'``.
        prefix (str, optional): Defaults to ``'base2novel'``.
    """

    default_prefix = 'base2novel'

    def __init__(self, base_classes, novel_classes,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.base = tuple(get_label_set(base_classes))
        self.novel = tuple(get_label_set(novel_classes))
        both = {c.lower() for c in self.base} & {c.lower() for c in
                                                 self.novel}
        if both:
            raise ValueError(f'BaseNovelMetric: classes {sorted(both)} are '
                             'both base and novel')

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Keep the score vector and the label of every sample."""
        for sample in data_samples:
            self.results.append(dict(
                score=sample['pred_score'].cpu().float(),
                label=int(sample['gt_label'].reshape(-1)[0])))

    def _indices(self, names: Sequence[str]) -> List[int]:
        classes = [c.lower() for c in (self.dataset_meta or {}).get(
            'classes', ())]
        missing = [n for n in names if n.lower() not in classes]
        if missing:
            raise ValueError(
                f'BaseNovelMetric: classes {missing} are not in the test '
                f"dataset's classes {tuple(classes)}")
        return [classes.index(n.lower()) for n in names]

    def _subset(self, scores, labels, columns):
        keep = torch.isin(labels, torch.tensor(columns))
        if not keep.any():
            raise ValueError(f'BaseNovelMetric: no test image of classes '
                             f'{columns}')
        remap = {c: j for j, c in enumerate(columns)}
        sub_labels = torch.tensor([remap[int(v)] for v in labels[keep]])
        sub_scores = scores[keep][:, columns]
        top1 = Accuracy.calculate(sub_scores, sub_labels, topk=(1, ))
        uar = SingleLabelMetric.calculate(
            sub_scores, sub_labels, average='macro',
            num_classes=len(columns))[0][1]
        return float(top1[0][0]), float(uar), int(keep.sum())

    def compute_metrics(self, results: List[dict]) -> dict:
        """Base, novel and HM of WAR and UAR (in percent)."""
        scores = torch.stack([r['score'] for r in results])
        labels = torch.tensor([r['label'] for r in results])
        b_top1, b_uar, n_base = self._subset(scores, labels,
                                             self._indices(self.base))
        n_top1, n_uar, n_novel = self._subset(scores, labels,
                                              self._indices(self.novel))
        return dict(base_top1=b_top1, novel_top1=n_top1,
                    hm_top1=harmonic_mean(b_top1, n_top1), base_uar=b_uar,
                    novel_uar=n_uar, hm_uar=harmonic_mean(b_uar, n_uar),
                    num_base=n_base, num_novel=n_novel)
