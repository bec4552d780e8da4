"""Shared pytest fixtures: a tiny random CLIP and a small descriptions file.

Everything here is offline: the CLIP weights are random, written to a
temporary ``.pt`` file and loaded back through the plugin's real local-file
path (:func:`mpa_fer_plugin.models.utils.load_clip`).
"""
import copy
import json
import os

import pytest
import torch

os.environ.setdefault('HF_HUB_OFFLINE', '1')

#: A 2-layer CLIP (~3.4 M parameters, mostly the token embedding) that
#: builds and runs in well under a second. 32 px images, 8 px patches:
#: 16 patch tokens.
TINY_CLIP = {
    'embed_dim': 32,
    'quick_gelu': True,
    'vision_cfg': {'image_size': 32, 'layers': 2, 'width': 64,
                   'patch_size': 8, 'head_width': 32},
    'text_cfg': {'context_length': 77, 'vocab_size': 49408, 'width': 64,
                 'heads': 2, 'layers': 2},
}

#: Short descriptions of the 7 basic expressions (FER7 order), two for
#: Happiness to exercise the per-class aggregation.
TINY_DESCRIPTIONS = {
    'Anger': ['lowered brows and pressed lips'],
    'Disgust': ['wrinkled nose and raised upper lip'],
    'Fear': ['raised brows and widened eyes'],
    'Sadness': ['drooping eyelids and lowered lip corners'],
    'Happiness': ['raised cheeks and a smiling mouth',
                  'crow feet wrinkles around the eyes'],
    'Surprise': ['raised brows and an open mouth'],
    'Neutral': ['relaxed face without muscle tension'],
}


@pytest.fixture(scope='session')
def tiny_clip_spec(tmp_path_factory):
    """A ``clip`` spec dict for a random tiny CLIP saved to a temp file."""
    import open_clip
    folder = tmp_path_factory.mktemp('tiny_clip')
    state = torch.random.get_rng_state()
    torch.manual_seed(0)
    model = open_clip.model.CLIP(**copy.deepcopy(TINY_CLIP))
    torch.random.set_rng_state(state)
    path = folder / 'tiny_clip.pt'
    torch.save(model.state_dict(), path)
    return dict(model_cfg=copy.deepcopy(TINY_CLIP), pretrained=str(path))


def write_descriptions(path, descriptions, label_set='test'):
    """Write a descriptions JSON (``format_version`` 1) and return its path.

    Args:
        path (str | Path): Output file.
        descriptions (dict[str, list[str]]): Class name -> descriptions.
        label_set (str): The ``label_set`` field. Defaults to ``'test'``.

    Returns:
        str: ``path`` as a string.
    """
    data = {
        'format_version': 1,
        'label_set': label_set,
        'classes': list(descriptions),
        'descriptions': descriptions,
        'provenance': {'source': 'unit test'},
    }
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(data, f)
    return str(path)


@pytest.fixture(scope='session')
def tiny_descriptions(tmp_path_factory):
    """Path of a small descriptions JSON for the FER7 classes."""
    folder = tmp_path_factory.mktemp('descriptions')
    return write_descriptions(folder / 'fer7_test.json', TINY_DESCRIPTIONS,
                              label_set='fer7')


@pytest.fixture
def tiny_mpa_cfg(tiny_clip_spec, tiny_descriptions):
    """Factory of ``MPAFERClassifier`` configs on the tiny CLIP (FER7).

    ``make(backbone={...}, head={...}, **model_keys)`` returns a fresh dict;
    the sub-dicts update the defaults (4 visual prompts, top-4 patches).
    """
    from mpa_fer_plugin.datasets.categories import FER7_CLASSES

    def make(backbone=None, head=None, **kwargs):
        cfg = dict(
            type='MPAFERClassifier',
            clip=copy.deepcopy(tiny_clip_spec),
            data_preprocessor=dict(
                type='ClsDataPreprocessor',
                mean=[122.770938, 116.7460125, 104.09373615],
                std=[68.5005327, 66.6321579, 70.32316305],
                to_rgb=True),
            backbone={
                'type': 'MPAPromptedViT',
                'num_prompts': 4,
                **(backbone or {})
            },
            head={
                'type': 'MPAPromptHead',
                'classnames': FER7_CLASSES,
                'descriptions': tiny_descriptions,
                'topk_patches': 4,
                **(head or {})
            })
        cfg.update(kwargs)
        return cfg

    return make


@pytest.fixture(scope='session')
def fer_data():
    """Writers of tiny dataset trees in the official layouts (fer_trees)."""
    from types import SimpleNamespace

    import fer_trees
    return SimpleNamespace(
        write_image=fer_trees.write_image,
        rafdb_official=fer_trees.write_rafdb_official,
        rafdb_folder=fer_trees.write_rafdb_folder,
        affectnet=fer_trees.write_affectnet,
        ferplus_csv=fer_trees.write_ferplus_csv,
        ferplus_folder=fer_trees.write_ferplus_folder,
        pixel_string=fer_trees.pixel_string)


@pytest.fixture(scope='session')
def small_world(tmp_path_factory):
    """Tiny generated data + tiny CLIP + a config inheriting the demo config.

    Shared by the tool and runtime tests: one epoch takes a second or two.
    """
    import os.path as osp
    import sys

    from mpa_fer_plugin.datasets.synthetic import generate_synthetic_fer
    root_dir = osp.dirname(osp.dirname(osp.abspath(__file__)))
    sys.path.insert(0, osp.join(root_dir, 'tools', 'misc'))
    try:
        from make_tiny_clip import make_tiny_clip
    finally:
        sys.path.pop(0)
    root = tmp_path_factory.mktemp('world')
    data_root = str(root / 'data')
    generate_synthetic_fer(data_root, num_train=28, num_test=14, size=64,
                           seed=0)
    clip_path = make_tiny_clip(str(root / 'clip'), seed=0)
    config = root / 'small_demo.py'
    config.write_text(f"""
_base_ = [{osp.join(root_dir, 'configs', 'mpa_fer_demo.py')!r}]
data_root = {data_root!r}
model = dict(clip=dict(pretrained={clip_path!r}))
train_dataloader = dict(batch_size=8, dataset=dict(data_root=data_root))
val_dataloader = dict(batch_size=8, dataset=dict(data_root=data_root))
test_dataloader = dict(batch_size=8, dataset=dict(data_root=data_root))
train_cfg = dict(max_epochs=2, val_interval=1)
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=True)]
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(interval=1, max_keep_ckpts=5))
""")
    return dict(root=root, config=str(config), data_root=data_root,
                clip=clip_path, num_test=14)


@pytest.fixture
def clean_runner_singletons():
    """Forget the Runner's global instances after the test.

    As mmengine's ``RunnerTestCase`` does, but for every subclass of
    ``ManagerMixin``: each (mmpretrain's ``UniversalVisualizer`` too) has
    its own instance dict, and an instance reused within the same second
    would write into the deleted work dir of an earlier test.
    """
    yield
    from mmengine.utils import ManagerMixin
    todo = [ManagerMixin]
    while todo:
        cls = todo.pop()
        cls._instance_dict.clear()
        todo.extend(cls.__subclasses__())
