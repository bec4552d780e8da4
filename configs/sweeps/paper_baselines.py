# Baselines under one protocol (the paper's baseline table lists none for
# CLIP-based prompt learners): zero-shot CLIP, CoOp, KgCoOp, IVLP and
# MPA-FER, ViT-B/16,
# on RAF-DB, AffectNet-7/8 and FERPlus, 3 seeds.
#   python tools/sweep.py configs/sweeps/paper_baselines.py --launcher dist --gpus 8
_base_ = ['./_paper_common.py']
title = 'Baselines (ViT-B/16, paper schedule)'
work_dir = 'work_dirs/sweeps/paper_baselines'
reference = 'CoOp'
rows = [
    dict(name='zero-shot CLIP', config='configs/baselines/zsclip_rafdb.py',
         train=False),
    dict(name='CoOp', config='configs/baselines/coop_rafdb.py'),
    dict(name='KgCoOp', config='configs/baselines/kgcoop_rafdb.py'),
    dict(name='IVLP', config='configs/baselines/ivlp_rafdb.py'),
    dict(name='MPA-FER', config='configs/mpa_fer_rafdb.py'),
]
