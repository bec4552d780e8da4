# IVLP on RAF-DB: shared text context + deep visual prompts in every layer,
# CE on global scores only (no alignment losses, no CGLA).
_base_ = [
    '../_base_/models/ivlp_vit_b16.py',
    '../_base_/datasets/rafdb.py',
    '../_base_/schedules/sgd_cosine_120e.py',
    '../_base_/default_runtime.py',
]
