# MPA-FER, CLIP ViT-B/16, FERPlus (8 classes, Microsoft's majority-vote
# labels; PublicTest is the validation split, PrivateTest the test split).
# Paths: FERPLUS_ROOT (default data/ferplus) and CLIP_B16.
_base_ = [
    './_base_/models/mpa_fer_vit_b16.py',
    './_base_/datasets/ferplus.py',
    './_base_/schedules/sgd_cosine_120e.py',
    './_base_/default_runtime.py',
]

# FER8_CLASSES of mpa_fer_plugin.datasets.categories.
model = dict(
    head=dict(classnames=('Anger', 'Disgust', 'Fear', 'Sadness', 'Happiness',
                          'Surprise', 'Neutral', 'Contempt')))
