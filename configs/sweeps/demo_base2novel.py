# Base-to-novel protocol (CoCoOp) on the demo world v2: train on the base
# classes (Sadness, Happiness, Surprise, Neutral), test on all 7; novel
# classes (Anger, Disgust, Fear) are scored by name through the learned
# shared context. Zero-shot CLIP / CoOp / IVLP / MPA-FER, 3 seeds, best
# epoch on a validation split carved from the base training images.
#   python tools/sweep.py configs/sweeps/demo_base2novel.py --threads 1
title = 'Base-to-novel protocol on the demo world v2'
work_dir = 'work_dirs/sweeps/demo_base2novel'
seeds = [0, 1, 2]
selection = 'val'
val_fraction = 0.1
val_interval = 1
epochs = 4
reference = 'CoOp'
threads = 1
metrics = dict(HM='base2novel/hm_top1', base='base2novel/base_top1',
               novel='base2novel/novel_top1', UAR_HM='base2novel/hm_uar',
               WAR_all7='accuracy/top1')

_data = 'data/demo_world_v2_700'
prepare = [
    dict(cmd=['python', 'tools/dataset_converters/make_synthetic_fer.py',
              _data, '--num-train', '700', '--num-test', '700', '--size',
              '64', '--seed', '0'],
         creates=_data + '/synthetic_fer.json'),
]
datasets = dict(demo=dict(cfg_options={
    'train_dataloader.dataset.dataset.data_root': _data,
    'val_dataloader.dataset.dataset.data_root': _data,
    'test_dataloader.dataset.data_root': _data,
    'custom_hooks.1.cache_dir': '{sweep_dir}/prototypes',
}))

_B = 'configs/protocols/base2novel_demo.py'
_COOP = {'model.backbone.num_prompts': 0, 'model.head.local_weight': 0.0,
         'model.head.loss_align': None, 'model.head.loss_proto': None}
_IVLP = {'model.head.local_weight': 0.0, 'model.head.loss_align': None,
         'model.head.loss_proto': None}
_ZS = dict(_COOP, **{'model.head.num_ctx': 0,
                     'model.head.prompt_template': 'a photo of a {}.'})
rows = [
    dict(name='zero-shot CLIP', config=_B, train=False, cfg_options=_ZS),
    dict(name='CoOp', config=_B, cfg_options=_COOP),
    dict(name='IVLP', config=_B, cfg_options=_IVLP),
    dict(name='MPA-FER', config=_B),
]
