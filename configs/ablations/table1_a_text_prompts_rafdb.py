# Table 1, row 1 (baseline): frozen CLIP + learnable text prompts, CE on
# global scores. Identical to CoOp with M=10.
_base_ = ['../mpa_fer_rafdb.py']
model = dict(
    backbone=dict(num_prompts=0),
    head=dict(local_weight=0.0, loss_align=None, loss_proto=None))
