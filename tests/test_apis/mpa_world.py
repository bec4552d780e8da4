"""A small inference world on disk, shared by the inference-side tests.

Generated faces in the RAF-DB layout, a config on the random tiny CLIP of
``tests/conftest.py`` (32 px, 4x4 patches) and prompt-only checkpoints:
one that matches the config and three that do not (other visual prompt
count, other classes, class-specific context). The config is
self-contained (only the runtime and dataset bases are inherited), so it
does not follow changes of the demo config.

Imported by the conftests of ``tests/test_apis``, ``tests/test_tools`` and
``tests/test_visualization``.
"""
import copy
import os.path as osp

import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

_CONFIG = """
_base_ = [{runtime!r}, {dataset!r}]
data_root = {data_root!r}
img_size = 32
model = dict(
    type='MPAFERClassifier',
    clip=dict(model_cfg={model_cfg!r}, pretrained={clip_path!r}),
    data_preprocessor=dict(
        type='ClsDataPreprocessor',
        mean=[122.770938, 116.7460125, 104.09373615],
        std=[68.5005327, 66.6321579, 70.32316305],
        to_rgb=True),
    backbone=dict(type='MPAPromptedViT', num_prompts=2),
    head=dict(
        type='MPAPromptHead',
        classnames=('Anger', 'Disgust', 'Fear', 'Sadness', 'Happiness',
                    'Surprise', 'Neutral'),
        num_ctx=4, topk_patches=4, loss_align=None, loss_proto=None))
test_pipeline = [
    dict(type='LoadFERImage'),
    dict(type='ResizeEdge', scale=img_size, edge='short', backend='pillow',
         interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=img_size),
    dict(type='PackInputs'),
]
val_dataloader = dict(
    batch_size=8,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
train_dataloader = dict(dataset=dict(data_root=data_root))
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(logger=dict(interval=1))
"""

FER7 = ('Anger', 'Disgust', 'Fear', 'Sadness', 'Happiness', 'Surprise',
        'Neutral')


def _save_checkpoint(model, path, classes=FER7):
    """Save ``model`` as a Runner-like prompt-only checkpoint."""
    from mmengine.logging import HistoryBuffer
    torch.save(
        dict(meta=dict(epoch=1, dataset_meta=dict(classes=tuple(classes))),
             state_dict=model.state_dict(),
             message_hub=dict(log_scalars={'train/loss': HistoryBuffer()})),
        path)
    return str(path)


def make_world(root, clip_spec, num_test=7):
    """Write data, config and checkpoints under ``root``.

    Args:
        root (pathlib.Path): An empty folder.
        clip_spec (dict): ``tiny_clip_spec`` from ``tests/conftest.py``.
        num_test (int): Test images. Defaults to 7.

    Returns:
        dict: ``config``, ``ckpt`` (matching), ``ckpt_prompts``,
        ``ckpt_classes``, ``ckpt_csc`` (mismatching), ``data_root``,
        ``image_dir`` and ``num_test``.
    """
    from mpa_fer_plugin.apis import init_mpa_model
    from mpa_fer_plugin.datasets.synthetic import generate_synthetic_fer
    data_root = str(root / 'data')
    generate_synthetic_fer(data_root, num_train=7, num_test=num_test,
                           size=40, seed=3)
    config = root / 'infer_world.py'
    config.write_text(_CONFIG.format(
        runtime=osp.join(ROOT, 'configs', '_base_', 'default_runtime.py'),
        dataset=osp.join(ROOT, 'configs', '_base_', 'datasets',
                         'synthetic_fer.py'),
        data_root=data_root, model_cfg=copy.deepcopy(clip_spec['model_cfg']),
        clip_path=clip_spec['pretrained']))
    config = str(config)

    torch.manual_seed(0)
    model = init_mpa_model(config)
    with torch.no_grad():  # a "trained" state: away from the init
        model.backbone.prompts.add_(0.5 * torch.randn_like(
            model.backbone.prompts))
        model.head.prompt_learner.ctx.add_(0.5 * torch.randn_like(
            model.head.prompt_learner.ctx))
    world = dict(config=config, data_root=data_root,
                 image_dir=osp.join(data_root, 'Image', 'aligned'),
                 num_test=num_test)
    world['ckpt'] = _save_checkpoint(model, root / 'matching.pth')
    world['ckpt_classes'] = _save_checkpoint(
        model, root / 'fer8_classes.pth',
        classes=FER7 + ('Contempt', ))
    other = init_mpa_model(
        config, cfg_options={'model.backbone.num_prompts': 3})
    world['ckpt_prompts'] = _save_checkpoint(other, root / 'prompts3.pth')
    csc = init_mpa_model(
        config, cfg_options={'model.head.class_specific_ctx': True})
    world['ckpt_csc'] = _save_checkpoint(csc, root / 'csc.pth')
    world['csc_cfg_options'] = {'model.head.class_specific_ctx': True}
    return world


def load_tool(relpath):
    """Import ``tools/<relpath>`` as a module (``tools`` is no package)."""
    import importlib.util
    path = osp.join(ROOT, 'tools', relpath)
    name = 'mpa_tool_' + relpath.replace('/', '_')[:-len('.py')]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_WORLDS = {}


def get_world(tmp_path_factory, clip_spec):
    """:func:`make_world`, built once per test session and CLIP spec."""
    key = clip_spec['pretrained']
    if key not in _WORLDS:
        _WORLDS[key] = make_world(tmp_path_factory.mktemp('infer_world'),
                                  clip_spec)
    return _WORLDS[key]


def get_model(world):
    """The world's model with the matching checkpoint (built once)."""
    key = ('model', world['config'])
    if key not in _WORLDS:
        from mpa_fer_plugin.apis import init_mpa_model
        _WORLDS[key] = init_mpa_model(world['config'], world['ckpt'])
    return _WORLDS[key]
