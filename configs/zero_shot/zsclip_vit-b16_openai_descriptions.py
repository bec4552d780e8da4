# Zero-shot CLIP ViT-B/16 with an ensemble of descriptions per class: each
# class's text feature is the mean of the encoded prompts
# 'a photo of a person making a facial expression of {class}, {description}'
# over the shipped descriptions
# (mpa_fer_plugin/prompts/data/fer8_descriptions.json). Nothing trained:
#   python tools/infer.py photo.jpg \
#       configs/zero_shot/zsclip_vit-b16_openai_descriptions.py
_base_ = ['./zsclip_vit-b16_openai.py']

model = dict(
    head=dict(
        classifier='descriptions',
        descriptions=None,  # None: the shipped fer8_descriptions.json
        granularity=3,
        description_aggregation='mean'))

model_card = dict(method='zero-shot CLIP (ensemble of descriptions)')
