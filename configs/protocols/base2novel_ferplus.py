# Base-to-novel (CoCoOp protocol) on FERPlus: MPA-FER (ViT-B/16) trained on
# the base classes, tested on all 8 (novel classes scored by name through
# the learned shared context; BaseNovelMetric: base, novel, HM).
# Default split: base = Sadness, Happiness, Surprise, Neutral;
# novel = Anger, Disgust, Fear, Contempt. Change both tuples to use
# another split.
_base_ = ['../mpa_fer_ferplus.py']

base_classes = ('Sadness', 'Happiness', 'Surprise', 'Neutral')
novel_classes = ('Anger', 'Disgust', 'Fear', 'Contempt')

model = dict(data_preprocessor=dict(num_classes=len(base_classes)),
             head=dict(classnames=base_classes))
train_dataloader = dict(dataset=dict(
    _delete_=True, type='ClassSubset', classes=base_classes,
    dataset={{_base_.train_dataloader.dataset}}))
val_dataloader = dict(dataset=dict(
    _delete_=True, type='ClassSubset', classes=base_classes,
    dataset={{_base_.val_dataloader.dataset}}))
test_evaluator = [
    dict(type='Accuracy', topk=(1, )),
    dict(type='SingleLabelMetric', items=('precision', 'recall', 'f1-score'),
         average='macro'),
    dict(type='SingleLabelMetric', items=('recall', ), average=None,
         prefix='per_class'),
    dict(type='BaseNovelMetric', base_classes=base_classes,
         novel_classes=novel_classes),
]
custom_hooks = [
    dict(type='MPAClassNameCheckHook'),
    dict(type='PrototypeHook', samples_per_class=-1, seed=0, normalize=False,
         cache_dir=None),
    dict(type='EvalClassNamesHook'),
]
