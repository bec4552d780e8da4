# AffectNet-7 (manually annotated, codes 0-6). The official validation set
# (500 images per class) serves as the test set.
_base_ = ['./fer_common.py']

dataset_type = 'AffectNet'
# Set the environment variable AFFECTNET_ROOT or edit this line.
data_root = '{{$AFFECTNET_ROOT:data/affectnet}}'
num_classes = 7
data_preprocessor = dict(num_classes=num_classes)

train_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, split='train',
                 num_classes=num_classes))
val_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, split='val',
                 num_classes=num_classes))
test_dataloader = val_dataloader

# Class-balanced sampling for the imbalanced training set: in a child
# config, wrap the training set (mmengine's ClassBalancedDataset repeats
# images of classes rarer than oversample_thr, using AffectNet.get_cat_ids):
# train_dataloader = dict(dataset=dict(
#     _delete_=True, type='ClassBalancedDataset', oversample_thr=0.1,
#     dataset=dict(type='AffectNet', data_root='data/affectnet', split='train',
#                  num_classes=7, pipeline={{_base_.train_pipeline}})))

# What the model card of a model trained here says (MPAModelCardHook).
model_card = dict(dataset='AffectNet-7 (manually annotated)',
                  domain='real-faces', train_split='train',
                  eval_split='val (official validation set)')
