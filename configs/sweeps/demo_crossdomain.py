# Cross-domain protocol on the demo world v2: CoOp and MPA-FER trained on
# the demo faces (3 seeds, best epoch on a held-out carve of train), each
# checkpoint tested (tools/test.py) in-domain, on faces with shifted pose,
# intensity and palette, and on an 8-class world with Contempt, either
# dropping the Contempt images (counted) or scoring Contempt by name.
#   python tools/sweep.py configs/sweeps/demo_crossdomain.py --threads 1
title = 'Cross-domain protocol on the demo world v2'
work_dir = 'work_dirs/sweeps/demo_crossdomain'
seeds = [0, 1, 2]
selection = 'val'
val_fraction = 0.1
val_interval = 1
epochs = 4
reference = 'CoOp'
threads = 1
metrics = dict(WAR='accuracy/top1', UAR='single-label/recall',
               F1='single-label/f1-score')

_data = 'data/demo_world_v2_700'
_shift = 'data/demo_world_v2_shift'
_fer8 = 'data/demo_world_v2_fer8'
_gen = ['python', 'tools/dataset_converters/make_synthetic_fer.py']
prepare = [
    dict(cmd=_gen + [_data, '--num-train', '700', '--num-test', '700',
                     '--size', '64', '--seed', '0'],
         creates=_data + '/synthetic_fer.json'),
    dict(cmd=_gen + [_shift, '--num-train', '70', '--num-test', '350',
                     '--size', '64', '--seed', '1', '--test-shift', 'pose',
                     'intensity', 'palette'],
         creates=_shift + '/synthetic_fer.json'),
    dict(cmd=_gen + [_fer8, '--num-train', '80', '--num-test', '400',
                     '--size', '64', '--seed', '2', '--classes', '8'],
         creates=_fer8 + '/synthetic_fer.json'),
]
_train = {f'{k}_dataloader.dataset.data_root': _data
          for k in ('train', 'val', 'test')}
_train['custom_hooks.1.cache_dir'] = '{sweep_dir}/prototypes'
_COOP = {'model.backbone.num_prompts': 0, 'model.head.local_weight': 0.0,
         'model.head.loss_align': None, 'model.head.loss_proto': None}
_P = 'configs/protocols/'
rows = []
for _name, _opts in (('CoOp', _COOP), ('MPA-FER', {})):
    _cfg = 'configs/mpa_fer_demo.py'
    rows += [
        dict(name=_name, config=_cfg, cfg_options=dict(_train, **_opts),
             note='in-domain'),
        dict(name=f'{_name} → shifted', config=_P + 'cross_demo_shift.py',
             train=False, checkpoint_from=_name, cfg_options=_opts),
        dict(name=f'{_name} → 8-class (drop Contempt)',
             config=_P + 'cross_demo_fer8_drop.py', train=False,
             checkpoint_from=_name, cfg_options=_opts),
        dict(name=f'{_name} → 8-class (score Contempt)',
             config=_P + 'cross_demo_fer8_score.py', train=False,
             checkpoint_from=_name, cfg_options=_opts),
    ]
