# Shared by the FER dataset configs of this folder: CLIP normalisation,
# the MPA-FER augmentation (docs/method.md: random resized crop, flip, random
# erasing), the test pipeline, dataloader defaults and the evaluators.
# A dataset file inherits this and only names its dataset, e.g.
#   train_dataloader = dict(dataset=dict(type='RAFDB', split='train'))
# WAR = accuracy/top1, UAR = single-label/recall (macro).
#
# img_size is read when this file is parsed, so a child config that changes
# it must rebuild the pipelines it affects (see configs/mpa_fer_demo.py).

num_classes = 7
img_size = 224

data_preprocessor = dict(
    type='ClsDataPreprocessor',
    num_classes=num_classes,
    # CLIP statistics, RGB order, 0-255 scale
    mean=[0.48145466 * 255, 0.4578275 * 255, 0.40821073 * 255],
    std=[0.26862954 * 255, 0.26130258 * 255, 0.27577711 * 255],
    to_rgb=True,  # images are loaded as BGR
)
# RandomErasing runs before the preprocessor, on BGR images
bgr_mean = data_preprocessor['mean'][::-1]
bgr_std = data_preprocessor['std'][::-1]

train_pipeline = [
    dict(type='LoadFERImage'),
    dict(type='RandomResizedCrop', scale=img_size,
         crop_ratio_range=(0.8, 1.0), backend='pillow',
         interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomErasing', erase_prob=0.25, mode='rand',
         min_area_ratio=0.02, max_area_ratio=1 / 3,
         fill_color=bgr_mean, fill_std=bgr_std),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadFERImage'),
    dict(type='ResizeEdge', scale=img_size, edge='short', backend='pillow',
         interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=img_size),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        test_mode=True,
        pipeline=test_pipeline),
)
test_dataloader = val_dataloader

val_evaluator = [
    dict(type='Accuracy', topk=(1, )),  # WAR
    dict(type='SingleLabelMetric', items=('precision', 'recall', 'f1-score'),
         average='macro'),  # UAR = single-label/recall
    dict(type='SingleLabelMetric', items=('recall', ), average=None,
         prefix='per_class'),  # list, logged as text only
    dict(type='ConfusionMatrix'),  # tensor, logged as text only
]
test_evaluator = val_evaluator
