# Few-shot protocol on the demo world v2: K = 1, 2, 4, 8, 16 images per
# class (FewShotSubset, drawn by the run's seed, split files under
# {work_dir}/splits/), zero-shot CLIP / CoOp / IVLP / MPA-FER, 3 seeds,
# last-epoch model (CoOp's few-shot practice), tested on the full test
# split. Prototypes of MPA-FER come from the same K shots.
#   python tools/sweep.py configs/sweeps/demo_fewshot.py --threads 1
title = 'Few-shot protocol on the demo world v2'
work_dir = 'work_dirs/sweeps/demo_fewshot'
seeds = [0, 1, 2]
selection = 'last'
reference = 'CoOp'
threads = 1
metrics = dict(WAR='accuracy/top1', UAR='single-label/recall',
               F1='single-label/f1-score')

_data = 'data/demo_world_v2_700'
# The v2 generator of the demo world at 64 px, data seed 0, with 700 test
# faces instead of `make demo`'s 2100 (keeps the protocol sweeps cheap).
prepare = [
    dict(cmd=['python', 'tools/dataset_converters/make_synthetic_fer.py',
              _data, '--num-train', '700', '--num-test', '700', '--size',
              '64', '--seed', '0'],
         creates=_data + '/synthetic_fer.json'),
]
_roots = {f'{k}_dataloader.dataset.data_root': _data
          for k in ('val', 'test')}
# epochs per K: about 20 optimisation steps or more at batch 32
_epochs = {1: 20, 2: 20, 4: 10, 8: 8, 16: 6}
datasets = {
    f'K={k}': dict(epochs=_epochs[k], cfg_options=dict(_roots, **{
        'train_dataloader.dataset.dataset.data_root': _data,
        'train_dataloader.dataset.shots': k,
        'train_dataloader.dataset.seed': '{seed}',
        'train_dataloader.dataset.split_file':
            '{sweep_dir}/splits/k%d_seed{seed}.json' % k,
        'custom_hooks.1.cache_dir': '{sweep_dir}/prototypes',
    }))
    for k in (1, 2, 4, 8, 16)
}

_F = 'configs/protocols/fewshot_demo.py'
_COOP = {'model.backbone.num_prompts': 0, 'model.head.local_weight': 0.0,
         'model.head.loss_align': None, 'model.head.loss_proto': None}
_IVLP = {'model.head.local_weight': 0.0, 'model.head.loss_align': None,
         'model.head.loss_proto': None}
rows = [
    # zero-shot does not depend on K: one run, on the K=1 entry's test set
    dict(name='zero-shot CLIP', config='configs/demo_ablation/zsclip.py',
         train=False, datasets=['K=1'],
         cfg_options={'train_dataloader.dataset.data_root': _data}),
    dict(name='CoOp', config=_F, cfg_options=_COOP),
    dict(name='IVLP', config=_F, cfg_options=_IVLP),
    dict(name='MPA-FER', config=_F),
]
