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
    # method.md §7 #13) and the latest ones for resuming.
    checkpoint=dict(
        type='CheckpointHook', interval=1, max_keep_ckpts=2,
        save_best='auto'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='VisualizationHook', enable=False),
)

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
