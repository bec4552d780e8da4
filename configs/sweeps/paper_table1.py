# Table 1 (components; the paper's ablation): text prompts ->
# + visual prompts ->
# + prototypes -> + soft-hard -> + CGLA, ViT-B/16, RAF-DB and AffectNet-7
# (the paper's two), 3 seeds; differences paired to the baseline row.
#   python tools/sweep.py configs/sweeps/paper_table1.py --launcher dist --gpus 8
_base_ = ['./_paper_common.py']
title = 'Table 1: components (ViT-B/16)'
work_dir = 'work_dirs/sweeps/paper_table1'
reference = 'baseline'
_A = 'configs/ablations/'
_ds = ['rafdb', 'affectnet7']
rows = [
    dict(name='baseline', config=_A + 'table1_a_text_prompts_rafdb.py',
         datasets=_ds),
    dict(name='+ visual prompts',
         config=_A + 'table1_b_visual_prompts_rafdb.py', datasets=_ds),
    dict(name='+ prototypes', config=_A + 'table1_c_prototypes_rafdb.py',
         datasets=_ds),
    dict(name='+ soft-hard', config=_A + 'table1_d_soft_hard_rafdb.py',
         datasets=_ds),
    dict(name='+ CGLA', config=_A + 'table1_e_cgla_rafdb.py', datasets=_ds),
]
