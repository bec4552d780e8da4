# The demo config with a held-out validation split carved from the
# training split (the demo world, like RAF-DB, has train and test only):
# HoldoutSplit keeps 20% of each class of data/synthetic_fer/train (drawn
# by seed 0 from the names sorted per class) as `val`, trains on the rest
# and tests on the untouched test split. The validation split selects the
# checkpoint (save_best) and is the split tools/calibrate.py fits the
# temperature on; the test split is never used for either. ECEMetric adds
# the expected calibration error (%) to both evaluators.
_base_ = ['../mpa_fer_demo.py']

holdout = dict(type='HoldoutSplit', val_fraction=0.2, seed=0)
train_dataloader = dict(dataset=dict(
    _delete_=True, part='train', dataset={{_base_.train_dataloader.dataset}},
    **holdout))
val_dataloader = dict(dataset=dict(
    _delete_=True, part='val', test_mode=True,
    dataset=dict(type='RAFDB', data_root={{_base_.data_root}},
                 split='train', image_source='aligned',
                 pipeline={{_base_.test_pipeline}}),
    **holdout))
test_dataloader = {{_base_.test_dataloader}}

val_evaluator = [
    dict(type='Accuracy', topk=(1, )),  # WAR
    dict(type='SingleLabelMetric', items=('precision', 'recall', 'f1-score'),
         average='macro'),  # UAR = single-label/recall
    dict(type='ECEMetric', num_bins=15),  # calibration/ece (%)
]
test_evaluator = [
    dict(type='Accuracy', topk=(1, )),
    dict(type='SingleLabelMetric', items=('precision', 'recall', 'f1-score'),
         average='macro'),
    dict(type='SingleLabelMetric', items=('precision', 'recall', 'f1-score'),
         average=None, prefix='per_class'),
    dict(type='ConfusionMatrix'),
    dict(type='ECEMetric', num_bins=15),
]
