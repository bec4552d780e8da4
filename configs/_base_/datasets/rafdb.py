# RAF-DB (basic), 7 classes. Layout: see the README "Datasets" section.
# RAF-DB has no validation split: the test set is used for both.
_base_ = ['./fer_common.py']

dataset_type = 'RAFDB'
# Set the environment variable RAFDB_ROOT or edit this line.
data_root = '{{$RAFDB_ROOT:data/rafdb/basic}}'
num_classes = 7
data_preprocessor = dict(num_classes=num_classes)

train_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, split='train',
                 image_source='aligned'))
val_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, split='test',
                 image_source='aligned'))
test_dataloader = val_dataloader

# What the model card of a model trained here says (MPAModelCardHook).
model_card = dict(dataset='RAF-DB (basic)', domain='real-faces',
                  train_split='train', eval_split='test')
