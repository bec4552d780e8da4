# MPA-FER schedule (docs/method.md): SGD lr 0.032, momentum 0.9, weight decay
# 5e-4, 1 linear warm-up epoch then cosine, 120 epochs, batch 32.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.032, momentum=0.9, weight_decay=5e-4),
    # Only parameters with requires_grad=True (the prompts) reach the
    # optimizer; the frozen CLIP is left out with one summary log line.
    constructor='MPATrainableOptimWrapperConstructor',
)

param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-3,
        by_epoch=True,
        begin=0,
        end=1,
        convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1, T_max=119,
         eta_min=0.0),
]

train_cfg = dict(by_epoch=True, max_epochs=120, val_interval=1)
val_cfg = dict()
test_cfg = dict()

# lr 0.032 was set for batch 32 on one GPU; `--auto-scale-lr` rescales it.
auto_scale_lr = dict(base_batch_size=32)
