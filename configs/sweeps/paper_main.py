# Headline results (the paper's main table): MPA-FER with ViT-B/16 and
# ViT-L/14 on
# RAF-DB, AffectNet-7, AffectNet-8 and FERPlus, 3 seeds.
#   python tools/sweep.py configs/sweeps/paper_main.py --launcher dist --gpus 8
_base_ = ['./_paper_common.py']
title = 'MPA-FER, paper settings (ViT-B/16, ViT-L/14)'
work_dir = 'work_dirs/sweeps/paper_main'
reference = 'MPA-FER ViT-B/16'
rows = [
    dict(name='MPA-FER ViT-B/16', config='configs/mpa_fer_rafdb.py'),
    dict(name='MPA-FER ViT-L/14', config='configs/mpa_fer_rafdb_vit_l14.py'),
]
