# As cross_demo_fer8_drop.py, but the Contempt test images are kept and
# Contempt is scored by its name through the learned shared context
# (EvalClassNamesHook reports it as a class never seen in training).
_base_ = ['../mpa_fer_demo.py']

model = dict(data_preprocessor=dict(num_classes=8))
test_dataloader = dict(dataset=dict(
    _delete_=True, type='RAFDB', data_root='data/demo_world_v2_fer8',
    split='test', num_classes=8, image_source='aligned', test_mode=True,
    pipeline={{_base_.test_pipeline}}))
custom_hooks = [
    dict(type='MPAClassNameCheckHook'),
    dict(type='EvalClassNamesHook'),
]
