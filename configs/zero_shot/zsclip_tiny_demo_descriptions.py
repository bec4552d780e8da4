# The tiny demo CLIP with an ensemble of the demo world's descriptions
# (configs/demo_assets/tiny_clip/demo_descriptions.json, two per class):
#   python tools/test.py configs/zero_shot/zsclip_tiny_demo_descriptions.py \
#       none
_base_ = ['./zsclip_tiny_demo.py']

model = dict(
    head=dict(
        classifier='descriptions',
        descriptions='{{ fileDirname }}/../demo_assets/tiny_clip/'
        'demo_descriptions.json',
        granularity=3,
        description_aggregation='mean'))

model_card = dict(method='zero-shot CLIP (ensemble of descriptions)')
