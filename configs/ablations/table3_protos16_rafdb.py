# Table 3: class prototypes from 16 training images per class (a fixed,
# seeded subset; the paper's exact subset sizes are not known, "Full" is
# configs/mpa_fer_rafdb.py with samples_per_class=-1).
_base_ = ['../mpa_fer_rafdb.py']
custom_hooks = [
    dict(type='MPAClassNameCheckHook'),
    dict(type='PrototypeHook', samples_per_class=16, seed=0),
]
