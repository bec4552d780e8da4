# MPA-FER, CLIP ViT-L/14 (the paper's large variant), RAF-DB. Same recipe
# as mpa_fer_rafdb.py; 24 prompted layers with N_p=8 (docs/method.md).
# CLIP weights: CLIP_L14 (default data/clip/ViT-L-14.pt).
_base_ = [
    './_base_/models/mpa_fer_vit_l14.py',
    './_base_/datasets/rafdb.py',
    './_base_/schedules/sgd_cosine_120e.py',
    './_base_/default_runtime.py',
]
