"""The frozen CLIP text transformer, fed with token embeddings."""
from typing import Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule


class CLIPTextEncoder(BaseModule):
    """Frozen open_clip text tower that encodes prompt *embeddings*.

    Unlike ``CLIP.encode_text`` it takes token embeddings (so learnable
    context vectors can be spliced in) and the end-of-text (EOT) positions.
    Under CLIP's causal attention mask a token never sees later positions,
    so callers cut the sequences after their longest EOT position (see
    ``embed_prompts``): the features are the same as with all 77 positions,
    at a fraction of the cost (docs/method.md). The cut is decided once, at
    build time, so no device sync happens per step.

    It holds references to the frozen modules of one CLIP instance
    (``transformer``, ``ln_final``, ``positional_embedding``,
    ``text_projection``); the token embedding table is not kept.

    Args:
        clip_model (nn.Module): An ``open_clip.model.CLIP``.
    """

    def __init__(self, clip_model: nn.Module) -> None:
        super().__init__()
        missing = [
            n for n in ('transformer', 'ln_final', 'positional_embedding',
                        'text_projection', 'token_embedding')
            if not hasattr(clip_model, n)
        ]
        if missing:
            raise NotImplementedError(
                f'{type(clip_model).__name__} has no built-in CLIP text '
                f'tower (missing {missing}); models with a timm/HF text '
                'tower (CustomTextCLIP) are not supported')
        pool_type = getattr(clip_model, 'text_pool_type', 'argmax')
        if pool_type not in ('argmax', 'eos'):
            raise NotImplementedError(
                f'text_pool_type={pool_type!r} is not supported; the prompt '
                'head pools at the end-of-text token (argmax/eos)')
        self.transformer = clip_model.transformer
        self.ln_final = clip_model.ln_final
        self.positional_embedding = clip_model.positional_embedding
        self.text_projection = clip_model.text_projection
        mask = getattr(clip_model, 'attn_mask', None)
        #: Without a causal mask, truncation after the EOT token would change
        #: the features, so the full context is used.
        self.causal = mask is not None
        self.register_buffer(
            'attn_mask', mask.clone() if mask is not None else None,
            persistent=False)
        self.context_length = self.positional_embedding.shape[0]
        self.width = self.positional_embedding.shape[1]
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> 'CLIPTextEncoder':
        """Frozen: always stays in eval mode."""
        return super().train(False)

    def forward(self, embeds: torch.Tensor,
                eot_idx: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Encode prompt embeddings.

        Args:
            embeds (Tensor): Token embeddings ``[N, L, W]``, ``L`` at most
                the context length; positions after the longest EOT may be
                cut (with a causal mask).
            eot_idx (Tensor): Position of the EOT token per prompt ``[N]``.

        Returns:
            tuple[Tensor, Tensor]: The projected text features ``[N, D]``
            (``theta(t)``) and the EOT hidden state after ``ln_final``,
            before the projection ``[N, W]``.
        """
        length = embeds.shape[1]
        if length > self.context_length:
            raise ValueError(f'prompt length {length} exceeds the context '
                             f'length {self.context_length}')
        if not self.causal and length < self.context_length:
            raise ValueError('a text tower without causal mask needs the '
                             'full context length')
        cast_dtype = self.transformer.get_cast_dtype()
        x = embeds.to(cast_dtype)
        x = x + self.positional_embedding[:length].to(cast_dtype)
        mask = None if self.attn_mask is None else \
            self.attn_mask[:length, :length]
        x = self.transformer(x, attn_mask=mask)
        x = self.ln_final(x)
        hidden = x[torch.arange(x.shape[0], device=x.device), eot_idx]
        proj = self.text_projection
        if proj is None:
            feats = hidden
        elif isinstance(proj, nn.Linear):
            feats = proj(hidden)
        else:
            feats = hidden @ proj.to(hidden.dtype)
        return feats, hidden
