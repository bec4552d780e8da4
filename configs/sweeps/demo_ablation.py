# Demo-world ablation: zero-shot CLIP, CoOp, KgCoOp, IVLP and the Table 1
# steps (baseline -> + visual prompts -> + prototypes -> + soft-hard ->
# + CGLA) on the generated faces with the committed tiny CLIP, 3 seeds.
#   python tools/sweep.py configs/sweeps/demo_ablation.py --threads 1
# Writes work_dirs/sweeps/demo_ablation/{results.csv,results.json,
# table.md,bars.png}. Rerun the same command to resume after a kill.
# Control rows (e.g. switches of the losses) are added to `rows` as
# dict(name=..., config=..., cfg_options={'model.head.x': ...}).
title = 'Demo-world ablation (generated faces, committed tiny CLIP)'
work_dir = 'work_dirs/sweeps/demo_ablation'
seeds = [0, 1, 2]
# The last epoch is tested, as the former demo_ablation script did; use
# selection='val' (tools/sweep.py --selection val) for a held-out carve.
selection = 'last'
reference = 'CoOp'
threads = 1
metrics = dict(WAR='accuracy/top1', UAR='single-label/recall',
               F1='single-label/f1-score')

_data = 'data/synthetic_fer'
# 700 train / 700 test faces with RAF-DB's class balance, data seed 0
# (what `make demo` generates).
prepare = [
    dict(cmd=['python', 'tools/dataset_converters/make_synthetic_fer.py',
              _data, '--num-train', '700', '--num-test', '700', '--seed',
              '0', '--class-weights', '705', '717', '281', '1982', '4772',
              '1290', '2524'],
         creates=_data + '/EmoLabel/list_patition_label.txt'),
]
datasets = dict(demo=dict(cfg_options={
    'train_dataloader.dataset.data_root': _data,
    'val_dataloader.dataset.data_root': _data,
    'test_dataloader.dataset.data_root': _data,
    # prototypes are computed once and shared by every run of the sweep
    'custom_hooks.1.cache_dir': work_dir + '/prototypes',
}))

rows = [
    dict(name='zero-shot CLIP', config='configs/demo_ablation/zsclip.py',
         train=False),
    dict(name='CoOp', config='configs/demo_ablation/coop.py',
         note='baseline (text prompts)'),
    dict(name='KgCoOp', config='configs/demo_ablation/kgcoop.py'),
    dict(name='IVLP', config='configs/demo_ablation/ivlp.py',
         note='+ visual prompts'),
    dict(name='IVLP + L_v', config='configs/demo_ablation/ivlp_proto.py',
         note='+ prototypes'),
    dict(name='IVLP + L_v + L_t',
         config='configs/demo_ablation/ivlp_proto_align.py',
         note='+ soft-hard'),
    dict(name='MPA-FER', config='configs/mpa_fer_demo.py',
         note='+ CGLA (full)'),
]
