# KgCoOp on RAF-DB: CoOp (4 context vectors from 'a photo of a') plus the
# cosine consistency with the hand-crafted 'a photo of a {}.' features,
# weight 8. Same data, schedule and runtime as configs/mpa_fer_rafdb.py.
_base_ = [
    '../_base_/models/kgcoop_vit_b16.py',
    '../_base_/datasets/rafdb.py',
    '../_base_/schedules/sgd_cosine_120e.py',
    '../_base_/default_runtime.py',
]
