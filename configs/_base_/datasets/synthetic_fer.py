# Synthetic faces in the RAF-DB layout, written by
# tools/dataset_converters/make_synthetic_fer.py (7 classes). For the demo
# and smoke tests; runs on CPU (num_workers=0). Like RAF-DB it has train
# and test splits only.
_base_ = ['./fer_common.py']

dataset_type = 'RAFDB'
data_root = 'data/synthetic_fer'
num_classes = 7
data_preprocessor = dict(num_classes=num_classes)

train_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(type=dataset_type, data_root=data_root, split='train',
                 image_source='aligned'))
val_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(type=dataset_type, data_root=data_root, split='test',
                 image_source='aligned'))
test_dataloader = val_dataloader

# What the model card of a model trained here says (MPAModelCardHook): the
# generated demo world of drawn faces. Such a model warns once when used
# (mpa_fer_plugin.apis.model_card.DemoDomainWarning).
model_card = dict(
    dataset='demo world (mpa_fer_plugin.datasets.synthetic, drawn faces)',
    domain='synthetic-drawn-faces', train_split='train', eval_split='test')
