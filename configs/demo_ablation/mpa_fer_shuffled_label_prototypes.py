# Control of L_v: the full MPA-FER with class prototypes averaged under
# permuted image labels (PrototypeHook shuffle_labels), so each "class
# prototype" is a mixture of classes. If L_v helps through the class means,
# this scores below ../mpa_fer_demo.py.
_base_ = ['../mpa_fer_demo.py']

custom_hooks = [
    dict(type='MPAClassNameCheckHook'),
    dict(type='PrototypeHook', samples_per_class=-1, seed=0, normalize=False,
         cache_dir=None, shuffle_labels=True, shuffle_seed=0),
]
