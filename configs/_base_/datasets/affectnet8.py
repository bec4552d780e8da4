# AffectNet-8 (manually annotated, codes 0-7, adds Contempt). The official
# validation set (500 images per class) serves as the test set.
_base_ = ['./affectnet7.py']

num_classes = 8
data_preprocessor = dict(num_classes=num_classes)

train_dataloader = dict(dataset=dict(num_classes=num_classes))
val_dataloader = dict(dataset=dict(num_classes=num_classes))
test_dataloader = val_dataloader
model_card = dict(dataset='AffectNet-8 (manually annotated)')
