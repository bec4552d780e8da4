# Zero-shot expressions from OpenAI's CLIP ViT-B/16: nothing trained, the
# frozen CLIP scores every face against 'a photo of a {class}.' (global
# image feature only). The weights come from a local file: OpenAI's
# ViT-B-16.pt (TorchScript) or an open_clip state dict at
# data/clip/ViT-B-16.pt, or wherever CLIP_B16 points. No checkpoint:
#   python tools/infer.py photo.jpg configs/zero_shot/zsclip_vit-b16_openai.py
#   python tools/test.py configs/zero_shot/zsclip_vit-b16_openai.py none
# (tools/test.py evaluates on RAF-DB's test split, see RAFDB_ROOT).
_base_ = [
    '../_base_/models/mpa_fer_vit_b16.py',
    '../_base_/datasets/rafdb.py',
    '../_base_/schedules/sgd_cosine_120e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    backbone=dict(num_prompts=0),
    head=dict(
        _delete_=True,
        type='MPAZeroShotHead',
        classnames=('Anger', 'Disgust', 'Fear', 'Sadness', 'Happiness',
                    'Surprise', 'Neutral'),
        classifier='template',
        prompt_template='a photo of a {}.',
        local_weight=0.0,
        logit_scale=100.0))

# The model card: a frozen web-trained CLIP, no FER training.
model_card = dict(kind='zero-shot', domain='web-photos',
                  method='zero-shot CLIP (class-name template)',
                  notes='frozen CLIP ViT-B/16 (OpenAI weights); nothing '
                  'trained on expressions')
