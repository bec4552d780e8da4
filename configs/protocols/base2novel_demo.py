# Base-to-novel (CoCoOp protocol) on the demo world: train MPA-FER on the
# base classes only, test on images of all 7 classes. The novel classes are
# scored by their names through the learned shared context
# (EvalClassNamesHook); BaseNovelMetric reports base, novel and their
# harmonic mean (base2novel/{base,novel,hm}_{top1,uar}).
# Default split (RAF-DB and the demo world, which has its 7 classes):
#   base  = Sadness, Happiness, Surprise, Neutral
#   novel = Anger, Disgust, Fear
# Other methods: the sweep file configs/sweeps/demo_base2novel.py sets the
# CoOp/IVLP switches with cfg_options. A class-specific context
# (class_specific_ctx=True) cannot score new names and is refused.
_base_ = ['../mpa_fer_demo.py']

base_classes = ('Sadness', 'Happiness', 'Surprise', 'Neutral')
novel_classes = ('Anger', 'Disgust', 'Fear')

model = dict(data_preprocessor=dict(num_classes=len(base_classes)),
             head=dict(classnames=base_classes))
train_dataloader = dict(dataset=dict(
    _delete_=True, type='ClassSubset', classes=base_classes,
    dataset={{_base_.train_dataloader.dataset}}))
# validation (if any) stays on the base classes; the test set keeps all
val_dataloader = dict(dataset=dict(
    _delete_=True, type='ClassSubset', classes=base_classes,
    dataset={{_base_.val_dataloader.dataset}}))
test_evaluator = [
    dict(type='Accuracy', topk=(1, )),  # all 7 classes (generalised)
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
