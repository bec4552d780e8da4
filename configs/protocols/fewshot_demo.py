# Few-shot on the demo world: MPA-FER trained on K images per class drawn
# by a seed (FewShotSubset); the prototypes of L_v come from the same K
# shots (PrototypeHook rebuilds this wrapper with the test pipeline, and
# reads the same split file). The chosen image names are written to
# `split_file` (JSON) and read back from it if it exists, so a split can be
# shared: e.g. --cfg-options train_dataloader.dataset.shots=4
#   train_dataloader.dataset.seed=1
#   train_dataloader.dataset.split_file=work_dirs/splits/k4_seed1.json
# The sweep configs/sweeps/demo_fewshot.py sets K, the seed and the
# methods (CoOp / IVLP switches with cfg_options).
_base_ = ['../mpa_fer_demo.py']

shots = 16
train_dataloader = dict(dataset=dict(
    _delete_=True, type='FewShotSubset', shots=shots, seed=0,
    split_file=None, dataset={{_base_.train_dataloader.dataset}}))
