# Cross-label-space test on the demo world: a 7-class demo model on an
# 8-class generated test set (with Contempt, RAF-DB layout, code 8). The
# Contempt images are dropped by ClassSubset, which counts them
# (metainfo['dropped_classes'], logged and written to
# {work_dir}/eval_classes.json). cross_demo_fer8_score.py scores them by
# name instead. Data: data/demo_world_v2_fer8 (configs/sweeps/
# demo_crossdomain.py generates it).
_base_ = ['../mpa_fer_demo.py']

test_dataloader = dict(dataset=dict(
    _delete_=True, type='ClassSubset',
    classes=('Anger', 'Disgust', 'Fear', 'Sadness', 'Happiness', 'Surprise',
             'Neutral'),
    dataset=dict(type='RAFDB', data_root='data/demo_world_v2_fer8',
                 split='test', num_classes=8, image_source='aligned', test_mode=True,
                 pipeline={{_base_.test_pipeline}})))
custom_hooks = [
    dict(type='MPAClassNameCheckHook'),
    dict(type='EvalClassNamesHook'),
]
