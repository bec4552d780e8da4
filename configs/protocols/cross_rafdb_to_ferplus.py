# Cross-dataset test: a RAF-DB model (configs/mpa_fer_rafdb.py) on the
# FERPlus test split, through the canonical label space. FERPlus has
# Contempt, which RAF-DB lacks: its test images are dropped by ClassSubset,
# which logs their number and stores it in metainfo['dropped_classes']
# (EvalClassNamesHook writes it to {work_dir}/eval_classes.json). To score
# Contempt by name through the learned context instead, test on the plain
# FERPlus dataset (EvalClassNamesHook then reports it as unseen).
#   python tools/test.py configs/protocols/cross_rafdb_to_ferplus.py CKPT
_base_ = ['../mpa_fer_rafdb.py']

test_dataloader = dict(dataset=dict(
    _delete_=True, type='ClassSubset',
    classes=('Anger', 'Disgust', 'Fear', 'Sadness', 'Happiness', 'Surprise',
             'Neutral'),
    dataset=dict(type='FERPlus', data_root='{{$FERPLUS_ROOT:data/ferplus}}',
                 split='test', label_mode='majority', test_mode=True,
                 pipeline={{_base_.test_pipeline}})))
custom_hooks = [
    dict(type='MPAClassNameCheckHook'),
    dict(type='EvalClassNamesHook'),
]
