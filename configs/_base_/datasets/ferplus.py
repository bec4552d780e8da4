# FERPlus, 8 classes, Microsoft's majority-vote labels. Splits: Training ->
# train, PublicTest -> val, PrivateTest -> test. In the csv layout the 48x48
# images are decoded in memory; LoadFERImage (not LoadImageFromFile) turns
# them into 3-channel arrays.
_base_ = ['./fer_common.py']

dataset_type = 'FERPlus'
# Set the environment variable FERPLUS_ROOT or edit this line.
data_root = '{{$FERPLUS_ROOT:data/ferplus}}'
num_classes = 8
data_preprocessor = dict(num_classes=num_classes)

train_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, split='train',
                 label_mode='majority'))
val_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, split='val',
                 label_mode='majority'))
test_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, split='test',
                 label_mode='majority'))

# What the model card of a model trained here says (MPAModelCardHook).
model_card = dict(dataset='FERPlus (majority labels)', domain='real-faces',
                  train_split='train', eval_split='val (PublicTest)')
