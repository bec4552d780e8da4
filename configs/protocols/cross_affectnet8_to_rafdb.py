# Cross-dataset test: an AffectNet-8 model (configs/mpa_fer_affectnet8.py)
# on the RAF-DB test split. RAF-DB has no Contempt: EvalClassNamesHook
# scores the 7 RAF-DB classes only (the model cannot predict a class the
# test set lacks) and reports Contempt as a training-only class in the log
# and in {work_dir}/eval_classes.json.
#   python tools/test.py configs/protocols/cross_affectnet8_to_rafdb.py CKPT
_base_ = ['../mpa_fer_affectnet8.py']

test_dataloader = dict(dataset=dict(
    _delete_=True, type='RAFDB', data_root='{{$RAFDB_ROOT:data/rafdb/basic}}',
    split='test', image_source='aligned', test_mode=True,
    pipeline={{_base_.test_pipeline}}))
test_evaluator = [
    dict(type='Accuracy', topk=(1, )),
    dict(type='SingleLabelMetric', items=('precision', 'recall', 'f1-score'),
         average='macro'),
    dict(type='SingleLabelMetric', items=('recall', ), average=None,
         prefix='per_class'),
    dict(type='ConfusionMatrix'),
]
custom_hooks = [
    dict(type='MPAClassNameCheckHook'),
    dict(type='EvalClassNamesHook'),
]
