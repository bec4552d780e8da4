# Baseline: zero-shot CLIP ViT-B/16 (no prompts, no training; test only).
# Scores are 100 * cos(image, "a photo of a {class}.").
_base_ = ['./mpa_fer_vit_b16.py']

model = dict(
    backbone=dict(num_prompts=0),
    head=dict(
        num_ctx=0,
        prompt_template='a photo of a {}.',
        local_weight=0.0,
        loss_align=None,
        loss_proto=None))
