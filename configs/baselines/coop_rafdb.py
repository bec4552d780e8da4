# CoOp on RAF-DB: a learnable shared text context (M=10), frozen CLIP
# ViT-B/16, CE on global scores. Same data, schedule and runtime as
# configs/mpa_fer_rafdb.py.
_base_ = [
    '../_base_/models/coop_vit_b16.py',
    '../_base_/datasets/rafdb.py',
    '../_base_/schedules/sgd_cosine_120e.py',
    '../_base_/default_runtime.py',
]
