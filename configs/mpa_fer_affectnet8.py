# MPA-FER, CLIP ViT-B/16, AffectNet-8 (codes 0-7, adds Contempt). Paths:
# AFFECTNET_ROOT (default data/affectnet) and CLIP_B16.
_base_ = [
    './_base_/models/mpa_fer_vit_b16.py',
    './_base_/datasets/affectnet8.py',
    './_base_/schedules/sgd_cosine_120e.py',
    './_base_/default_runtime.py',
]

# FER8_CLASSES of mpa_fer_plugin.datasets.categories.
model = dict(
    head=dict(classnames=('Anger', 'Disgust', 'Fear', 'Sadness', 'Happiness',
                          'Surprise', 'Neutral', 'Contempt')))
