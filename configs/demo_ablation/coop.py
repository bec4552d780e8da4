# CoOp on the demo world (= Table 1 "baseline": frozen CLIP + learnable text
# prompts): the switches of ../_base_/models/coop_vit_b16.py.
_base_ = ['../mpa_fer_demo.py']

model = dict(
    backbone=dict(num_prompts=0),
    head=dict(local_weight=0.0, loss_align=None, loss_proto=None))
