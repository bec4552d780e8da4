# Runtime defaults of mpa_fer_plugin configs (mmpretrain conventions).
# Child configs inherit this by relative path: `mmpretrain::` bases need
# pkg_resources and only work for whitelisted packages.
default_scope = 'mmpretrain'
custom_imports = dict(imports=['mpa_fer_plugin'], allow_failed_imports=False)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # Keep the best checkpoint on the official test split (FER practice,
    # docs/method.md) and the latest ones for resuming.
    checkpoint=dict(
        type='CheckpointHook', interval=1, max_keep_ckpts=2,
        save_best='auto'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='VisualizationHook', enable=False),
    # Stop on a NaN/inf loss and never save non-finite weights.
    invalid_loss=dict(type='MPAInvalidLossHook'),
    # Augmentation randomness from (seed, epoch, sample): exact resume.
    data_seed=dict(type='MPADataSeedHook'),
    # Writes checkpoint['meta']['model_card'] (what the model was trained
    # on; the config's `model_card` dict, set by the dataset configs).
    model_card=dict(type='MPAModelCardHook'),
)
# The plugin adds the two hooks above (unless set to None here) and the
# class-name check (always) to any Runner whose config lacks them.

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # nccl on GPUs; the plugin falls back to gloo when CUDA is unavailable.
    dist_cfg=dict(backend='nccl'),
)

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)

log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
