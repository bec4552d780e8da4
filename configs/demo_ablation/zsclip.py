# Zero-shot CLIP on the demo world: the switches of
# ../_base_/models/zsclip_vit_b16.py on the demo's tiny CLIP. Nothing is
# trained; evaluate it without a checkpoint:
#   python tools/test.py configs/demo_ablation/zsclip.py none
_base_ = ['../mpa_fer_demo.py']

model = dict(
    backbone=dict(num_prompts=0),
    head=dict(
        num_ctx=0,
        prompt_template='a photo of a {}.',
        local_weight=0.0,
        loss_align=None,
        loss_proto=None))
