"""Grad-CAM (and friends) for MPA-FER's prompted ViT.

mmpretrain's ``tools/visualization/vis_cam.py`` does not run here: it
imports ``pkg_resources`` (gone in setuptools >= 82) and passes
``use_cuda`` to grad-cam, which grad-cam 1.5 removed. This tool uses the
grad-cam 1.5 API and the plugin's model loading. The CAM is taken at the
first LayerNorm of the last ViT block by default; the token sequence there
is ``[CLS, N_p prompts, patches]``, so the reshape drops the
``backbone.num_extra_tokens`` leading tokens (class token + visual prompts)
before folding the patches back into the grid.

Needs ``pip install 'mpa_fer_plugin[cam]'`` (``grad-cam>=1.5,<1.6``).

Example::

    python tools/visualization/vis_cam.py face.jpg configs/mpa_fer_demo.py \\
        work_dirs/demo/epoch_6.pth --method gradcam --save-path cam.png
"""
import argparse
import os.path as osp
import re
import sys
import warnings
from typing import Callable, List, Optional

import torch.nn as nn

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

#: Default CAM layer, relative to the classifier.
DEFAULT_TARGET_LAYER = 'backbone.visual.transformer.resblocks[-1].ln_1'


def import_grad_cam():
    """Import ``pytorch_grad_cam`` or fail with the install command."""
    try:
        import pytorch_grad_cam
    except ImportError as e:
        raise ImportError(
            'tools/visualization/vis_cam.py needs grad-cam 1.5: pip install '
            "'mpa_fer_plugin[cam]' (or pip install 'grad-cam>=1.5,<1.6')"
        ) from e
    return pytorch_grad_cam


def cam_methods(cam) -> dict:
    """CAM classes of grad-cam by lower-case name (``gradcam``, ...)."""
    from pytorch_grad_cam.base_cam import BaseCAM
    methods = {}
    for name in dir(cam):
        obj = getattr(cam, name)
        if isinstance(obj, type) and issubclass(obj, BaseCAM) and \
                obj is not BaseCAM:
            methods[name.lower()] = obj
    methods['gradcam++'] = cam.GradCAMPlusPlus
    return methods


def resolve_layer(model, path: str):
    """Return the sub-module at ``path`` (``a.b[-1].c`` or ``a.b.-1.c``)."""
    module = model
    for part in re.split(r'\.(?![^\[]*\])', path):
        match = re.fullmatch(r'([A-Za-z_]\w*)?((?:\[-?\d+\])*)', part)
        if match is None and re.fullmatch(r'-?\d+', part):
            module = _index(module, int(part), path)
            continue
        if match is None:
            raise ValueError(f'cannot parse layer path {path!r}')
        name, indices = match.groups()
        if name:
            if not hasattr(module, name):
                raise ValueError(f'layer path {path!r}: '
                                 f'{type(module).__name__} has no {name!r}')
            module = getattr(module, name)
        for idx in re.findall(r'-?\d+', indices or ''):
            module = _index(module, int(idx), path)
    return module


def _index(module, idx: int, path: str):
    try:
        return module[idx]
    except (TypeError, IndexError) as e:
        raise ValueError(f'layer path {path!r}: cannot index '
                         f'{type(module).__name__} with [{idx}]') from e


def vit_reshape_transform(num_extra_tokens: int, grid_size, batch_first: bool
                          ) -> Callable:
    """Fold ViT tokens ``[B, L, C]`` into CAM maps ``[B, C, gh, gw]``.

    Args:
        num_extra_tokens (int): Leading tokens to drop (class token and
            visual prompts: ``backbone.num_extra_tokens``).
        grid_size (tuple[int, int]): The patch grid ``(gh, gw)``.
        batch_first (bool): Whether the tokens are ``[B, L, C]`` (else
            ``[L, B, C]``).

    Returns:
        Callable: The transform for grad-cam's ``reshape_transform``.
    """
    gh, gw = grid_size

    def reshape(tensor):
        if isinstance(tensor, (tuple, list)):
            tensor = tensor[0]
        if not batch_first:
            tensor = tensor.transpose(0, 1)
        patches = tensor[:, num_extra_tokens:]
        if patches.shape[1] != gh * gw:
            raise ValueError(
                f'{patches.shape[1]} tokens after dropping '
                f'{num_extra_tokens} extra tokens, expected {gh}x{gw} '
                'patches; choose a ViT block layer as --target-layers')
        return patches.reshape(patches.shape[0], gh, gw,
                               -1).permute(0, 3, 1, 2)

    return reshape


class LogitsModel(nn.Module):
    """Wrap a classifier so that ``model(x)`` returns the class logits.

    Args:
        model (nn.Module): An :class:`MPAFERClassifier`.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x):
        """Return ``model(x, mode='tensor')``."""
        return self.model(x, mode='tensor')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('img', help='an image file')
    parser.add_argument('config', help='the config file')
    parser.add_argument('checkpoint', help='the (prompt-only) checkpoint')
    parser.add_argument('--target-layers', nargs='+',
                        default=[DEFAULT_TARGET_LAYER],
                        help='layers to take the CAM at (default: '
                        f'{DEFAULT_TARGET_LAYER})')
    parser.add_argument('--preview-model', action='store_true',
                        help='print the model layers and exit')
    parser.add_argument('--method', default='gradcam',
                        help='gradcam, gradcam++, xgradcam, eigencam, '
                        'layercam, hirescam, ... (case-insensitive)')
    parser.add_argument('--target-category', default=None,
                        help='class name or index (default: predicted)')
    parser.add_argument('--eigen-smooth', action='store_true')
    parser.add_argument('--aug-smooth', action='store_true')
    parser.add_argument('--save-path', help='the PNG to write')
    parser.add_argument('--display-size', type=int, default=256,
                        help='longer side of the CAM overlay in pixels '
                        '(the legend is added around it)')
    parser.add_argument('--no-legend', action='store_true',
                        help='write the bare CAM overlay (no title, colour '
                        'bar or caption)')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings (key=value)')
    return parser.parse_args(argv)


def _target_index(value: Optional[str], classes, logits) -> int:
    if value is None:
        return int(logits.argmax())
    if re.fullmatch(r'\d+', value.strip()):
        idx = int(value)
        if not 0 <= idx < len(classes):
            raise ValueError(f'--target-category {idx} is out of range for '
                             f'{len(classes)} classes')
        return idx
    lookup = {c.lower(): i for i, c in enumerate(classes)}
    if value.strip().lower() not in lookup:
        raise ValueError(f'--target-category {value!r} is not one of '
                         f'{tuple(classes)}')
    return lookup[value.strip().lower()]


def main(argv: Optional[List[str]] = None):
    """Run the tool; return the CAM ``[H, W]`` (or None for a preview)."""
    args = parse_args(argv)
    cam = import_grad_cam()
    warnings.filterwarnings('ignore', message='.*MultiScaleDeformable.*')
    import cv2
    import mmcv
    import numpy as np
    from pytorch_grad_cam.utils.image import show_cam_on_image
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    from mpa_fer_plugin.apis import init_mpa_model, prepare_images

    methods = cam_methods(cam)
    method = methods.get(args.method.lower())
    if method is None:
        raise ValueError(f'--method {args.method!r} is not one of '
                         f'{sorted(methods)}')
    model = init_mpa_model(args.config, args.checkpoint, device=args.device,
                           cfg_options=args.cfg_options)
    if args.preview_model:
        print(model)
        print('\nPass layer paths such as '
              f'{DEFAULT_TARGET_LAYER!r} to --target-layers.')
        return None
    if not args.save_path:
        raise ValueError('--save-path is required (where to write the CAM)')
    layers = [resolve_layer(model, p) for p in args.target_layers]
    backbone = model.backbone
    # Grad-CAM needs input gradients, which would switch the blocks to the
    # sequence-first training layout; keep open_clip's layout that the
    # hooks below read.
    backbone.seq_first = False
    reshape = vit_reshape_transform(
        backbone.num_extra_tokens, backbone.grid_size,
        backbone.visual.transformer.batch_first)
    inputs, crops = prepare_images(model, [args.img])
    inputs = inputs.requires_grad_(True)
    wrapped = LogitsModel(model)
    logits = wrapped(inputs).detach()[0]
    target = _target_index(args.target_category, model.head.classnames,
                           logits)
    with method(model=wrapped, target_layers=layers,
                reshape_transform=reshape) as extractor:
        grayscale = extractor(input_tensor=inputs,
                              targets=[ClassifierOutputTarget(target)],
                              aug_smooth=args.aug_smooth,
                              eigen_smooth=args.eigen_smooth)[0]
    rgb = crops[0].astype(np.float32) / 255
    drawn = show_cam_on_image(rgb, grayscale, use_rgb=True)
    h, w = drawn.shape[:2]
    scale = args.display_size / max(h, w)
    drawn = cv2.resize(drawn, (round(w * scale), round(h * scale)),
                       interpolation=cv2.INTER_LINEAR)
    if not args.no_legend:
        from mpa_fer_plugin.visualization.legend import add_legend
        probs = logits.softmax(-1)
        name = model.head.classnames[target]
        pred = model.head.classnames[int(probs.argmax())]
        drawn = add_legend(
            drawn,
            [f'{method.__name__} for class {name}',
             f'p({name}) = {float(probs[target]):.2f}, predicted: {pred}'],
            [f'colour: class-activation map of {name} ({method.__name__}, '
             'min-max scaled per image: 0 = least, 1 = most evidence), at '
             f'layer {", ".join(args.target_layers)}.'],
            bar=(0.0, 1.0, 'CAM'))
    if not mmcv.imwrite(drawn[..., ::-1], args.save_path):
        raise OSError(f'could not write {args.save_path}')
    print(f'{args.method} of class {model.head.classnames[target]!r} saved '
          f'to {args.save_path}', flush=True)
    return grayscale


if __name__ == '__main__':
    main()
