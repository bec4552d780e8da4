# MPA-FER on RAF-DB with a validation split carved from train (RAF-DB has
# train and test only): HoldoutSplit keeps 10% of each training class
# (seed 0, drawn from the names sorted per class) as `val`, trains on the
# other 90% and tests on the untouched test split. The validation split
# selects the checkpoint (save_best) and is where tools/calibrate.py fits
# the temperature, so neither choice looks at the test split
# (docs/first_real_run.md, docs/evaluation.md).
_base_ = ['../mpa_fer_rafdb.py']

holdout = dict(type='HoldoutSplit', val_fraction=0.1, seed=0)
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
    dict(type='SingleLabelMetric', items=('recall', ), average=None,
         prefix='per_class'),
    dict(type='ConfusionMatrix'),
    dict(type='ECEMetric', num_bins=15),
]
