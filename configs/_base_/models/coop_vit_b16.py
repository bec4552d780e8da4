# Baseline: CoOp on CLIP ViT-B/16 - learnable text context only, CE on the
# global cosine scores.
_base_ = ['./mpa_fer_vit_b16.py']

model = dict(
    backbone=dict(num_prompts=0),
    head=dict(local_weight=0.0, loss_align=None, loss_proto=None))
