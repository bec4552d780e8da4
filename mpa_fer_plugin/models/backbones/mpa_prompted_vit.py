"""The frozen CLIP image tower with deep visual prompts (MPA-FER Eq. 5)."""
from functools import partial
from typing import Optional, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS
from torch.utils.checkpoint import checkpoint

from ..utils.clip_loader import clip_dims, load_clip
from ..utils.frozen_state import check_init_cfg, register_frozen_state_hooks

#: Options of ``patch_proj``: how patch tokens enter the joint space.
PATCH_PROJ_MODES = ('ln_post_proj', 'proj')


def _check_visual_tower(visual: nn.Module) -> None:
    """Raise ``NotImplementedError`` for towers the prompts cannot enter."""
    from open_clip.transformer import Transformer, VisionTransformer
    if not isinstance(visual, VisionTransformer):
        raise NotImplementedError(
            f'MPAPromptedViT needs an open_clip VisionTransformer image '
            f'tower; got {type(visual).__name__} (timm and ResNet towers '
            'have no token sequence to prompt)')
    if getattr(visual, 'attn_pool', None) is not None:
        raise NotImplementedError(
            'MPAPromptedViT does not support attentional pooling (CoCa-style '
            '`attentional_pool` towers): it needs the class token as the '
            'global feature')
    if getattr(visual, 'pool_type', 'tok') != 'tok':
        raise NotImplementedError(
            f'MPAPromptedViT needs class-token pooling; the tower uses '
            f'pool_type={visual.pool_type!r}')
    if getattr(visual, 'proj', None) is None:
        raise NotImplementedError(
            'MPAPromptedViT needs the projection `visual.proj` into the '
            'joint space; this tower has none')
    if not isinstance(visual.transformer, Transformer):
        raise NotImplementedError(
            f'unsupported vision transformer type '
            f'{type(visual.transformer).__name__}')


def _seq_first_block(block: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Run an open_clip block built batch-first on sequence-first tokens.

    Its ``nn.MultiheadAttention`` is switched to ``batch_first=False`` for
    the call (LayerNorms, MLP and LayerScale act per token, so the rest of
    the block is layout-agnostic) and switched back afterwards.
    """
    attn = block.attn
    attn.batch_first = False
    try:
        return block(x)
    finally:
        attn.batch_first = True


@MODELS.register_module()
class MPAPromptedViT(BaseModule):
    """Frozen open_clip image tower with deep visual prompts (VPT-deep).

    The image tower of `MPA-FER <https://arxiv.org/abs/2506.21017>`_ (Eq. 5):
    at every prompted layer ``l`` the learnable tokens ``P^l`` are inserted
    right after the class token, the frozen block runs on
    ``[CLS, P^l, patches]`` and the prompt outputs are replaced by
    ``P^{l+1}`` at the next prompted layer. Layers deeper than
    ``prompt_depth`` keep the prompt outputs of the last prompted layer
    (VPT-deep / IVLP convention), so every block sees the same token layout
    and :attr:`num_extra_tokens` holds at every depth (used by Grad-CAM
    reshapes). All CLIP weights stay frozen and the tower is kept in eval
    mode (so open_clip's ``PatchDropout`` is inactive).

    The forward pass reproduces open_clip 3.3.0's
    ``VisionTransformer.forward`` with the prompts inserted; ``ln_post`` and
    ``proj`` are applied only to the tokens that are used: the class token
    always, the patch tokens only when :attr:`out_patches` is true. With
    ``num_prompts=0`` (or ``use_prompts=False``) the global feature equals
    ``CLIP.encode_image``.

    Args:
        clip (dict): The ``clip`` spec for
            :func:`mpa_fer_plugin.models.utils.load_clip`
            (``model_name``, ``pretrained``, ``model_cfg``, ``quick_gelu``).
        num_prompts (int): Visual prompt tokens per layer ``N_p``; 0 turns
            the visual prompts off (CoOp, zero-shot CLIP). Defaults to 8.
        prompt_depth (int, optional): Number of prompted layers ``K``,
            counted from the first block; ``None`` prompts every layer
            (docs/method.md). Defaults to None.
        prompt_init_std (float): Std of the normal initialisation of the
            prompts. Defaults to 0.02.
        out_patches (bool, optional): Whether to return the projected patch
            tokens (needed by the local branch of CGLA). ``None`` lets
            :class:`MPAFERClassifier` decide from its head (standalone:
            true). Defaults to None.
        patch_proj (str): How patch tokens are mapped to the joint space:
            ``'ln_post_proj'`` (``ln_post`` then ``proj``, like the class
            token) or ``'proj'`` (``proj`` only); docs/method.md.
            Defaults to ``'ln_post_proj'``.
        prompt_ln_pre (bool): Whether the first-layer prompts ``P^1`` pass
            through ``ln_pre`` like the patch tokens: ``True`` as IVLP and
            MaPLe, which concatenate them before ``ln_pre``; ``False``
            inserts them after it (earlier versions of this package). Deeper
            prompts always enter as they are. Defaults to True.
        with_cp (bool | int): Activation checkpointing of the frozen blocks
            (``torch.utils.checkpoint``, non-reentrant): only each block's
            input is kept for backward and the block is recomputed there,
            trading about one extra forward pass for the activation
            memory. ``True`` checkpoints every block, an int ``n`` the
            first ``n`` blocks, ``False``/``0`` none. open_clip's
            ``visual.set_grad_checkpointing(True)`` is honoured too (every
            block). Applies only when the tokens need gradients (training
            the prompts); gradients are the same as without it.
            Defaults to False.
        seq_first (bool): Run the blocks on a contiguous sequence-first
            ``[L, B, W]`` layout (each block's ``nn.MultiheadAttention`` is
            switched to ``batch_first=False`` for the call). open_clip's
            batch-first attention transposes its input, and when the tokens
            require gradients (training the prompts) the in-projection of
            that strided view runs as a ``bmm`` with the weight expanded
            over the tokens instead of one matrix product. Applies only
            when the tokens require gradients (inference keeps PyTorch's
            fused batch-first path). Same results up to float rounding;
            False keeps open_clip's layout. Defaults to True.
        init_cfg (dict, optional): Only ``type='Pretrained'`` is allowed
            (others would overwrite the frozen CLIP). Defaults to None.
    """

    def __init__(self,
                 clip: dict,
                 num_prompts: int = 8,
                 prompt_depth: Optional[int] = None,
                 prompt_init_std: float = 0.02,
                 out_patches: Optional[bool] = None,
                 patch_proj: str = 'ln_post_proj',
                 prompt_ln_pre: bool = True,
                 with_cp: Union[bool, int] = False,
                 seq_first: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        check_init_cfg(init_cfg, type(self).__name__)
        super().__init__(init_cfg=init_cfg)
        if not isinstance(clip, dict):
            raise TypeError(f'clip must be a dict (a clip spec), got '
                            f'{type(clip).__name__}')
        if isinstance(num_prompts, bool) or not isinstance(
                num_prompts, int) or num_prompts < 0:
            raise ValueError(f'num_prompts={num_prompts!r} must be an int '
                             '>= 0')
        if not isinstance(prompt_init_std,
                          (int, float)) or not prompt_init_std > 0:
            raise ValueError(
                f'prompt_init_std={prompt_init_std!r} must be > 0')
        if patch_proj not in PATCH_PROJ_MODES:
            raise ValueError(f'patch_proj={patch_proj!r} must be one of '
                             f'{PATCH_PROJ_MODES}')
        if out_patches is not None and not isinstance(out_patches, bool):
            raise TypeError(f'out_patches={out_patches!r} must be a bool or '
                            'None')

        clip_model = load_clip(clip)
        visual = clip_model.visual
        _check_visual_tower(visual)
        self.embed_dim, self.width, _ = clip_dims(clip_model)
        self.visual = visual
        self.visual.requires_grad_(False)
        self.visual.eval()

        self.num_layers = len(visual.transformer.resblocks)
        if prompt_depth is not None and (
                isinstance(prompt_depth, bool)
                or not isinstance(prompt_depth, int)
                or not 1 <= prompt_depth <= self.num_layers):
            raise ValueError(
                f'prompt_depth={prompt_depth!r} must be None (every layer) '
                f'or an int in [1, {self.num_layers}] (the tower has '
                f'{self.num_layers} layers)')
        self.num_prompts = num_prompts
        self.prompt_depth = (0 if num_prompts == 0 else
                             prompt_depth or self.num_layers)
        self.patch_proj = patch_proj
        if not isinstance(prompt_ln_pre, bool):
            raise TypeError(f'prompt_ln_pre={prompt_ln_pre!r} must be a '
                            'bool')
        self.prompt_ln_pre = prompt_ln_pre
        self.out_patches = out_patches
        if isinstance(with_cp, bool):
            self.cp_layers = self.num_layers if with_cp else 0
        elif isinstance(with_cp, int) and 0 <= with_cp <= self.num_layers:
            self.cp_layers = with_cp
        else:
            raise ValueError(
                f'with_cp={with_cp!r} must be a bool or an int in '
                f'[0, {self.num_layers}] (blocks to checkpoint, from the '
                'first)')
        self.with_cp = with_cp
        if not isinstance(seq_first, bool):
            raise TypeError(f'seq_first={seq_first!r} must be a bool')
        self.seq_first = seq_first
        self.grid_size = tuple(visual.grid_size)
        if num_prompts > 0:
            self.prompts = nn.Parameter(
                torch.empty(self.prompt_depth, num_prompts, self.width))
            nn.init.normal_(self.prompts, std=prompt_init_std)
        else:
            self.register_parameter('prompts', None)
        register_frozen_state_hooks(self, ['visual'])

    @property
    def num_extra_tokens(self) -> int:
        """int: Tokens before the patch tokens (class token + prompts)."""
        return 1 + self.num_prompts

    @property
    def num_patches(self) -> int:
        """int: Patch tokens per image at the tower's input size."""
        return self.grid_size[0] * self.grid_size[1]

    def train(self, mode: bool = True) -> 'MPAPromptedViT':
        """Set the training mode; the frozen tower always stays in eval."""
        super().train(mode)
        self.visual.eval()
        return self

    def _embed(self, x: torch.Tensor) -> torch.Tensor:
        """Patch embedding, class token, positions, ``ln_pre`` (open_clip)."""
        visual = self.visual
        x = visual.conv1(x)
        x = x.reshape(x.shape[0], x.shape[1], -1).permute(0, 2, 1)
        pos = visual.positional_embedding
        if x.shape[1] + 1 != pos.shape[0]:
            raise ValueError(
                f'input of spatial size {tuple(x.shape)} gives {x.shape[1]} '
                f'patches, but the CLIP tower was built for '
                f'{pos.shape[0] - 1} (image_size={visual.image_size}); '
                'resize the input')
        cls = visual.class_embedding.to(x.dtype).view(1, 1, -1)
        x = torch.cat([cls.expand(x.shape[0], -1, -1), x], dim=1)
        x = x + pos.to(x.dtype)
        x = visual.patch_dropout(x)
        return visual.ln_pre(x)

    def _run_blocks(self, x: torch.Tensor, use_prompts: bool) -> torch.Tensor:
        """Run the frozen blocks with deep prompts (Eq. 5).

        Implements ``[z^l, _] = phi^l([z^{l-1}, P^l])`` for the prompted
        layers ``l = 1..K``: the prompt slots after the class token are
        (re)filled with ``P^l`` before block ``l``.

        Args:
            x (Tensor): Embedded tokens ``[B, 1 + N, W]`` (batch first).
            use_prompts (bool): Insert the prompts; ``False`` runs the
                frozen CLIP path.

        Returns:
            Tensor: ``[B, 1 + N_p + N, W]`` tokens after the last block
            (``N_p = 0`` without prompts).
        """
        transformer = self.visual.transformer
        n_p = self.num_prompts if use_prompts and self.prompts is not None \
            else 0
        batch = x.shape[0]
        blocks = transformer.resblocks
        attns = [b.attn for b in blocks
                 if isinstance(getattr(b, 'attn', None),
                               nn.MultiheadAttention)]
        # Sequence-first inside the loop: natively (batch_first=False
        # towers) or by switching batch-first attention during each block
        # call (also its recomputation under checkpointing).
        # Only when the tokens need gradients: without them PyTorch's
        # batch-first attention takes its fused inference path.
        needs_grad = torch.is_grad_enabled() and (
            x.requires_grad or bool(n_p and self.prompts.requires_grad))
        seq = not transformer.batch_first or (
            self.seq_first and needs_grad and len(attns) == len(blocks))
        switch = seq and transformer.batch_first
        if seq:
            x = x.transpose(0, 1).contiguous()  # [1 + N, B, W]
        for i, block in enumerate(blocks):
            if n_p and i < self.prompt_depth:
                prompts = self.prompts[i].to(x.dtype)
                if i == 0 and self.prompt_ln_pre:
                    # == concatenating P^1 before ln_pre (IVLP/MaPLe):
                    # the LayerNorm normalises every token on its own.
                    prompts = self.visual.ln_pre(prompts)
                if seq:
                    prompts = prompts.unsqueeze(1).expand(-1, batch, -1)
                    rest = x[1:] if i == 0 else x[1 + n_p:]
                    x = torch.cat([x[:1], prompts, rest], dim=0)
                else:
                    prompts = prompts.expand(batch, -1, -1)
                    rest = x[:, 1:] if i == 0 else x[:, 1 + n_p:]
                    x = torch.cat([x[:, :1], prompts, rest], dim=1)
            fn = partial(_seq_first_block, block) if switch else block
            if (i < self.cp_layers or transformer.grad_checkpointing) \
                    and x.requires_grad and torch.is_grad_enabled():
                x = checkpoint(fn, x, use_reentrant=False)
            else:
                x = fn(x)
        return x.transpose(0, 1) if seq else x

    def _to_joint(self, tokens: torch.Tensor, ln_post: bool) -> torch.Tensor:
        """Map tokens to the joint image-text space (ln_post + proj)."""
        if ln_post:
            tokens = self.visual.ln_post(tokens)
        return tokens @ self.visual.proj.to(tokens.dtype)

    def forward(self,
                x: torch.Tensor,
                use_prompts: bool = True) -> Tuple[torch.Tensor, ...]:
        """Encode images.

        Args:
            x (Tensor): Normalised images ``[B, 3, H, W]`` at the tower's
                input size.
            use_prompts (bool): Insert the visual prompts. ``False`` gives
                the frozen CLIP features (used for class prototypes, Eq. 6).
                Defaults to True.

        Returns:
            tuple[Tensor]: ``(global_feats, patch_feats)`` with the projected
            class token ``[B, D]`` and the projected patch tokens
            ``[B, N, D]``; ``(global_feats,)`` when :attr:`out_patches` is
            false.
        """
        tokens = self._run_blocks(self._embed(x), use_prompts)
        global_feats = self._to_joint(tokens[:, 0], ln_post=True)
        if self.out_patches is False:
            return (global_feats, )
        n_extra = 1 + (self.num_prompts if use_prompts and
                       self.prompts is not None else 0)
        patch_feats = self._to_joint(
            tokens[:, n_extra:], ln_post=self.patch_proj == 'ln_post_proj')
        return global_feats, patch_feats

    def forward_frozen(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Encode images with the frozen CLIP tower (prompts off).

        Args:
            x (Tensor): Normalised images ``[B, 3, H, W]``.

        Returns:
            tuple[Tensor]: Same layout as :meth:`forward`.
        """
        return self.forward(x, use_prompts=False)
