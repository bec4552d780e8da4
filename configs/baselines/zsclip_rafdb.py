# Zero-shot CLIP ViT-B/16 on RAF-DB: 'a photo of a {}.', global scores only,
# nothing learned. Evaluate without a checkpoint:
#   python tools/test.py configs/baselines/zsclip_rafdb.py none
_base_ = [
    '../_base_/models/zsclip_vit_b16.py',
    '../_base_/datasets/rafdb.py',
    '../_base_/schedules/sgd_cosine_120e.py',
    '../_base_/default_runtime.py',
]
