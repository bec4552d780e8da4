# Baseline: KgCoOp on CLIP ViT-B/16 - CoOp plus 1 - cos(theta(t_c),
# theta("a photo of {class}.")) with weight 8 (granularity-1 hard prompts,
# prompt-level cosine, no token-level term); context from "a photo of a".
_base_ = ['./mpa_fer_vit_b16.py']

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
