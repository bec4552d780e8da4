# KgCoOp on the demo world: the switches of
# ../_base_/models/kgcoop_vit_b16.py (context from "a photo of a", prompt-level
# cosine to the granularity-1 hard prompts, weight 8).
_base_ = ['../mpa_fer_demo.py']

model = dict(
    backbone=dict(num_prompts=0),
    head=dict(
        num_ctx=4,
        ctx_init='a photo of a',
        granularity=1,
        local_weight=0.0,
        loss_align=dict(
            _delete_=True,
            type='SoftHardAlignLoss',
            prompt_level='cosine',
            token_weight=0.0,
            loss_weight=8.0),
        loss_proto=None))
