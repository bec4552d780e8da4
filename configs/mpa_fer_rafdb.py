# MPA-FER, CLIP ViT-B/16, RAF-DB (basic, aligned 100x100 faces), the
# paper's settings (docs/method.md): 224 px, batch 32, SGD lr 0.032 with
# 1 warm-up epoch + cosine, 120 epochs, M=10 text context vectors, N_p=8
# visual prompts in every layer, top-k=16 patches, beta=gamma=1.
#
#   RAFDB_ROOT=/data/rafdb/basic CLIP_B16=/data/clip/ViT-B-16.pt \
#       python tools/train.py configs/mpa_fer_rafdb.py
#
# Paths (one place each): the environment variables RAFDB_ROOT and
# CLIP_B16 (defaults data/rafdb/basic and data/clip/ViT-B-16.pt, set in
# _base_/datasets/rafdb.py and _base_/models/mpa_fer_vit_b16.py), or
# --cfg-options model.clip.pretrained=... train_dataloader.dataset.data_root=...
#   val_dataloader.dataset.data_root=... test_dataloader.dataset.data_root=...
# Model selection: the best checkpoint on the official test split (RAF-DB
# has no validation split; common FER practice, docs/method.md).
_base_ = [
    './_base_/models/mpa_fer_vit_b16.py',
    './_base_/datasets/rafdb.py',
    './_base_/schedules/sgd_cosine_120e.py',
    './_base_/default_runtime.py',
]
