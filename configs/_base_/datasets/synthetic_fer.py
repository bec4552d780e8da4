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
