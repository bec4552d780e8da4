# Cross-dataset test: a RAF-DB model (configs/mpa_fer_rafdb.py) on the
# AffectNet-7 test set (validation.csv), through the canonical label space
# (both have the 7 basic expressions; AffectNet codes 7-10 are dropped and
# counted by the AffectNet dataset).
#   python tools/test.py configs/protocols/cross_rafdb_to_affectnet7.py CKPT
_base_ = ['../mpa_fer_rafdb.py']

test_dataloader = dict(dataset=dict(
    _delete_=True, type='AffectNet',
    data_root='{{$AFFECTNET_ROOT:data/affectnet}}', split='val',
    num_classes=7, test_mode=True, pipeline={{_base_.test_pipeline}}))
custom_hooks = [
    dict(type='MPAClassNameCheckHook'),
    dict(type='EvalClassNamesHook'),
]
