# MPA-FER, CLIP ViT-B/16, AffectNet-7 (codes 0-6; the official validation
# set is the test set). Paper settings as in mpa_fer_rafdb.py. Paths:
# AFFECTNET_ROOT (default data/affectnet) and CLIP_B16. For the imbalanced
# training set see the ClassBalancedDataset note in
# _base_/datasets/affectnet7.py.
_base_ = [
    './_base_/models/mpa_fer_vit_b16.py',
    './_base_/datasets/affectnet7.py',
    './_base_/schedules/sgd_cosine_120e.py',
    './_base_/default_runtime.py',
]
