# Few-shot on RAF-DB: MPA-FER (ViT-B/16) trained on K images per class
# (FewShotSubset: drawn by `seed` from the names sorted per class, written
# to / read from `split_file`); the prototypes use the same K shots.
#   python tools/train.py configs/protocols/fewshot_rafdb.py --cfg-options \
#     train_dataloader.dataset.shots=4 train_dataloader.dataset.seed=1 \
#     train_dataloader.dataset.split_file=work_dirs/splits/rafdb_k4_s1.json
_base_ = ['../mpa_fer_rafdb.py']

train_dataloader = dict(dataset=dict(
    _delete_=True, type='FewShotSubset', shots=16, seed=0, split_file=None,
    dataset={{_base_.train_dataloader.dataset}}))
