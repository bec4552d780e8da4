# Table 3 on the demo world: class prototypes from 4 training images a
# class (seeded subset) instead of all of them (100 a class in the demo).
_base_ = ['../mpa_fer_demo.py']

custom_hooks = [
    dict(type='MPAClassNameCheckHook'),
    dict(type='PrototypeHook', samples_per_class=4, seed=0, normalize=False,
         cache_dir=None, shuffle_labels=False),
]
