"""Models and training steps the benchmark measures (random CLIP weights).

Timing and memory do not depend on the weight values, so a randomly
initialised CLIP of the real architecture is saved to a file and loaded
through the plugin's real loader. Training steps go through mmengine's
``model.train_step(data, optim_wrapper)`` (data preprocessor, loss,
backward, SGD step), the call the Runner makes and ``compile`` compiles.
"""
import copy
import os.path as osp
from typing import Callable, Optional

import torch
import torch.nn.functional as F

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MODEL_CONFIGS = {
    'MPA-FER': 'configs/_base_/models/mpa_fer_vit_b16.py',
    'IVLP': 'configs/_base_/models/ivlp_vit_b16.py',
    'CoOp': 'configs/_base_/models/coop_vit_b16.py',
}
FULL_FT = 'full fine-tuning (image tower)'
#: A small CLIP for ``--quick`` (32 px, 16 patches).
QUICK_CLIP = {
    'embed_dim': 32,
    'quick_gelu': True,
    'vision_cfg': {'image_size': 32, 'layers': 2, 'width': 64,
                   'patch_size': 8, 'head_width': 32},
    'text_cfg': {'context_length': 77, 'vocab_size': 49408, 'width': 32,
                 'heads': 2, 'layers': 2},
}


def save_random_clip(arch: str, model_cfg: Optional[dict],
                     folder: str) -> dict:
    """Save a randomly initialised CLIP and return its ``clip`` spec.

    Args:
        arch (str): open_clip model name (used when ``model_cfg`` is None).
        model_cfg (dict, optional): open_clip ``CLIP`` keyword arguments.
        folder (str): Where to write ``random_clip.pt``.

    Returns:
        dict: The spec, loadable by
        :func:`mpa_fer_plugin.models.utils.load_clip`.
    """
    import open_clip
    torch.manual_seed(0)
    if model_cfg is not None:
        model = open_clip.model.CLIP(**copy.deepcopy(model_cfg))
        spec = dict(model_cfg=copy.deepcopy(model_cfg))
    else:
        model = open_clip.create_model(arch, pretrained=None)
        spec = dict(model_name=arch)
    path = osp.join(folder, 'random_clip.pt')
    torch.save(model.state_dict(), path)
    spec['pretrained'] = path
    return spec


def build_plugin_model(name: str, clip_spec: dict, device: torch.device,
                       topk: Optional[int] = None,
                       with_cp=False,
                       seq_first: Optional[bool] = None) -> torch.nn.Module:
    """Build a plugin model from its base config on the given CLIP.

    Args:
        name (str): A key of :data:`MODEL_CONFIGS`.
        clip_spec (dict): The ``clip`` spec.
        device (torch.device): Target device.
        topk (int, optional): Override ``topk_patches`` (small CLIPs).
        with_cp (bool | int): The backbone's activation checkpointing.
        seq_first (bool, optional): The backbone's ``seq_first`` (None:
            the config's).

    Returns:
        nn.Module: The model; random prototypes are set when its head has
        ``loss_proto`` (their values do not change the cost).
    """
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS
    cfg = Config.fromfile(osp.join(ROOT, MODEL_CONFIGS[name]))
    model_cfg = cfg.model
    model_cfg.clip = copy.deepcopy(clip_spec)
    if topk is not None:
        model_cfg.head.topk_patches = topk
    if with_cp:
        model_cfg.backbone.with_cp = with_cp
    if seq_first is not None:
        model_cfg.backbone.seq_first = seq_first
    init_default_scope('mmpretrain')
    model = MODELS.build(model_cfg).to(device)
    head = model.head
    if getattr(head, 'loss_proto', None) is not None:
        gen = torch.Generator().manual_seed(0)
        head.set_prototypes(torch.randn(head.prototypes.shape,
                                        generator=gen).to(device))
    return model


def zero_shot_text_features(clip_model: torch.nn.Module, classnames,
                            clip_spec: dict) -> torch.Tensor:
    """Encode ``'a photo of a {c}.'`` once (the cached zero-shot head)."""
    from mpa_fer_plugin.models.utils import get_tokenizer
    tokenizer = get_tokenizer(clip_spec)
    ids = tokenizer([f'a photo of a {c}.' for c in classnames])
    device = next(clip_model.parameters()).device
    with torch.no_grad():
        return clip_model.encode_text(ids.to(device), normalize=True)


def zero_shot_at_length(clip_model: torch.nn.Module, text: torch.Tensor,
                        extra_tokens: int) -> Callable:
    """Open_clip zero-shot with ``extra_tokens`` more tokens in every block.

    The image tower runs as ``encode_image`` does (patch embedding, class
    token, positions, ``ln_pre``, the blocks, ``ln_post`` on the class
    token, ``proj``), except that ``extra_tokens`` zero tokens follow the
    class token through all blocks. With the prompt count of a prompted
    model this is the cost of its longer sequence alone: the floor of
    ``predict`` / zero-shot for any implementation of deep visual prompts.

    Args:
        clip_model (nn.Module): An open_clip ``CLIP`` (ViT image tower).
        text (Tensor): Normalised class text features ``[C, D]``.
        extra_tokens (int): Tokens added after the class token (0 gives
            ``encode_image``'s result).

    Returns:
        callable: ``fn(x) -> Tensor`` of predicted class indices ``[B]``.
    """
    visual = clip_model.visual

    def fn(x: torch.Tensor) -> torch.Tensor:
        t = visual.conv1(x)
        t = t.reshape(t.shape[0], t.shape[1], -1).permute(0, 2, 1)
        cls = visual.class_embedding.to(t.dtype).view(1, 1, -1)
        t = torch.cat([cls.expand(t.shape[0], -1, -1), t], dim=1)
        t = visual.ln_pre(t + visual.positional_embedding.to(t.dtype))
        pad = t.new_zeros(t.shape[0], extra_tokens, t.shape[2])
        t = visual.transformer(torch.cat([t[:, :1], pad, t[:, 1:]], dim=1))
        feats = F.normalize(visual.ln_post(t[:, 0]) @ visual.proj, dim=-1)
        return (100.0 * feats @ text.t()).argmax(dim=-1)

    return fn


def make_optim_wrapper(model: torch.nn.Module, amp: bool = False,
                       lr: float = 1e-3):
    """SGD on the trainable parameters, in an (AMP) optim wrapper.

    ``amp`` uses :class:`MPAAmpOptimWrapper` (bf16 autocast on CPU, fp16
    with loss scaling on a GPU), as ``tools/train.py --amp`` does.
    """
    from mmengine.optim import OptimWrapper

    from ..engine.optimizers import MPAAmpOptimWrapper
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=lr, momentum=0.9,
                                weight_decay=5e-4)
    if amp:
        return MPAAmpOptimWrapper(optimizer=optimizer)
    return OptimWrapper(optimizer=optimizer)


def make_train_step(model: torch.nn.Module, data: dict, amp: bool = False,
                    compile_cfg: Optional[dict] = None) -> Callable:
    """One Runner training iteration of a plugin model.

    Args:
        model (nn.Module): A plugin classifier (put in train mode).
        data (dict): ``inputs`` (uint8-range images ``[B, 3, H, W]``) and
            ``data_samples``, as a dataloader gives them.
        amp (bool): Mixed precision (:func:`make_optim_wrapper`).
        compile_cfg (dict, optional): ``torch.compile`` options applied to
            ``model.train_step`` the way mmengine's Runner does for
            ``cfg.compile``. None runs eagerly.

    Returns:
        callable: ``step()`` returning the log vars.
    """
    wrapper = make_optim_wrapper(model, amp)
    model.train()
    train_step = model.train_step
    if compile_cfg is not None:
        train_step = torch.compile(train_step, **compile_cfg)

    def step():
        return train_step(data, wrapper)

    return step


def make_full_ft_step(clip_model: torch.nn.Module, text: torch.Tensor,
                      inputs: torch.Tensor, labels: torch.Tensor,
                      lr: float = 1e-5) -> Callable:
    """A step of full fine-tuning of the image tower (text cached)."""
    clip_model.requires_grad_(False)
    visual = clip_model.visual
    visual.requires_grad_(True)
    visual.train()
    optimizer = torch.optim.SGD(visual.parameters(), lr=lr, momentum=0.9,
                                weight_decay=5e-4)

    def step():
        optimizer.zero_grad(set_to_none=True)
        feats = F.normalize(visual(inputs), dim=-1)
        loss = F.cross_entropy(100.0 * feats @ text.t(), labels)
        loss.backward()
        optimizer.step()
        return loss

    return step


def make_batch(size: int, batch: int, num_classes: int,
               device: torch.device, seed: int = 0) -> dict:
    """A training batch as the dataloader gives it (0-255 images)."""
    from mmpretrain.structures import DataSample
    gen = torch.Generator().manual_seed(seed)
    inputs = torch.randint(0, 256, (batch, 3, size, size), generator=gen,
                           dtype=torch.uint8).to(device)
    samples = [DataSample().set_gt_label(i % num_classes).to(device)
               for i in range(batch)]
    return dict(inputs=inputs, data_samples=samples)
