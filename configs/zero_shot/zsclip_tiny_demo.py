# Zero-shot scoring with the demo's tiny CLIP (configs/demo_assets, trained
# on drawn faces of the demo world only) and 'a photo of a {class}.':
# the offline stand-in of zsclip_vit-b16_openai.py. Its labels mean
# something on demo-world faces only; the model card says so and it warns
# once on any input. Evaluate on the demo world (tools/demo.py writes it):
#   python tools/test.py configs/zero_shot/zsclip_tiny_demo.py none
_base_ = ['../mpa_fer_demo.py']

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
        logit_scale='clip'))

model_card = dict(kind='zero-shot',
                  method='zero-shot CLIP (class-name template)',
                  notes='the tiny demo CLIP, pretrained on the demo world '
                  'only')
