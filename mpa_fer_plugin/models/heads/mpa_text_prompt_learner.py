"""CoOp-style learnable text context for MPA-FER (docs/method.md)."""
import warnings
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule


def count_tokens(tokenizer, text: str) -> int:
    """Return the token count of ``text`` including start and end tokens."""
    return len(tokenizer.encode(text)) + 2


def tokenize_prompts(tokenizer,
                     texts: Sequence[str],
                     context_length: int,
                     owners: Optional[Sequence[str]] = None,
                     truncate: bool = False,
                     hint: str = 'Shorten it, or set '
                     'truncate_hard_prompts=True to truncate it'
                     ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Tokenise prompts, refusing (or warning about) over-long ones.

    Args:
        tokenizer: An open_clip ``SimpleTokenizer``.
        texts (Sequence[str]): The prompts.
        context_length (int): CLIP's context length (77).
        owners (Sequence[str], optional): The class of each prompt, named in
            errors. Defaults to None.
        truncate (bool): Warn and truncate over-long prompts instead of
            raising. Defaults to False.
        hint (str): How to fix an over-long prompt, for the error.

    Returns:
        tuple[Tensor, Tensor]: Token ids ``[N, context_length]`` and the
        end-of-text position of each prompt ``[N]``.
    """
    owners = list(owners) if owners is not None else list(texts)
    for text, owner in zip(texts, owners):
        n = count_tokens(tokenizer, text)
        if n > context_length:
            msg = (f'the prompt of class {owner!r} has {n} tokens (with '
                   f'start/end tokens), more than the CLIP context length '
                   f'{context_length}: {text!r}')
            if not truncate:
                raise ValueError(f'{msg}. {hint}')
            warnings.warn(f'{msg}; it is truncated', stacklevel=3)
    ids = tokenizer(list(texts), context_length=context_length)
    eot_id = getattr(tokenizer, 'eot_token_id', None)
    if eot_id is None:
        eot_idx = ids.argmax(dim=-1)
    else:
        eot_idx = (ids == eot_id).int().argmax(dim=-1)
    return ids, eot_idx


def content_mask(eot_idx: torch.Tensor, length: int) -> torch.Tensor:
    """Return a ``[N, length]`` float mask of positions ``1..eot-1``.

    These are the non-special tokens: everything between the start-of-text
    and the end-of-text token.
    """
    pos = torch.arange(length).unsqueeze(0)
    return ((pos >= 1) & (pos < eot_idx.unsqueeze(1))).float()


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``x [N, L, W]`` over the positions where ``mask [N, L]``."""
    mask = mask.to(x.dtype).unsqueeze(-1)
    return (x * mask).sum(1) / mask.sum(1).clamp(min=1)


def embed_prompts(token_embedding: nn.Embedding,
                  ids: torch.Tensor,
                  eot_idx: torch.Tensor,
                  cut: bool = True) -> torch.Tensor:
    """Embed token ids with CLIP's frozen token embedding.

    Args:
        token_embedding (nn.Embedding): CLIP's token embedding.
        ids (Tensor): Token ids ``[N, context_length]``.
        eot_idx (Tensor): EOT position of each prompt ``[N]``.
        cut (bool): Keep only the positions up to the longest EOT (exact
            under a causal mask). Defaults to True.

    Returns:
        Tensor: Float32 embeddings ``[N, L, W]``.
    """
    length = int(eot_idx.max()) + 1 if cut else ids.shape[1]
    with torch.no_grad():
        return token_embedding(ids[:, :length]).detach().float()


class MPATextPromptLearner(BaseModule):
    """Learnable text context ``[SOS][v_1..v_M][template(CLASS_c)][EOS]``.

    CoOp-style soft prompts (docs/method.md): ``num_ctx`` context vectors
    are inserted after the start token, followed by the frozen tokens of
    ``prompt_template`` filled with the class name. The frozen token
    embeddings of the whole prompts are computed once (non-persistent
    buffers, cut after the longest EOT position under CLIP's causal mask);
    only :attr:`ctx` trains.

    Args:
        clip_model (nn.Module): The ``open_clip.model.CLIP`` whose frozen
            ``token_embedding`` embeds the prompts (used at build time only).
        tokenizer: Its open_clip tokenizer.
        classnames (Sequence[str]): Class names in label order.
        num_ctx (int): Context vectors ``M``; 0 gives fixed (zero-shot)
            prompts. Defaults to 10.
        ctx_init (str, optional): Initialise the context from the token
            embeddings of this phrase (e.g. ``'a photo of a'``); it must
            have exactly ``num_ctx`` tokens. ``None`` draws from
            ``N(0, ctx_init_std^2)``. Defaults to None.
        class_specific_ctx (bool): One context per class (CSC) instead of a
            shared one (docs/method.md). Defaults to False.
        ctx_init_std (float): Std of the random initialisation. Defaults
            to 0.02.
        prompt_template (str): Text after the context, with ``{}`` for the
            class name. Defaults to ``'{}.'``.
    """

    def __init__(self,
                 clip_model: nn.Module,
                 tokenizer,
                 classnames: Sequence[str],
                 num_ctx: int = 10,
                 ctx_init: Optional[str] = None,
                 class_specific_ctx: bool = False,
                 ctx_init_std: float = 0.02,
                 prompt_template: str = '{}.') -> None:
        super().__init__()
        if isinstance(num_ctx, bool) or not isinstance(num_ctx,
                                                       int) or num_ctx < 0:
            raise ValueError(f'num_ctx={num_ctx!r} must be an int >= 0')
        if not isinstance(prompt_template, str) or \
                prompt_template.count('{}') != 1:
            raise ValueError(f'prompt_template={prompt_template!r} must be '
                             'a str with exactly one "{}" for the class name')
        if not isinstance(ctx_init_std, (int, float)) or not ctx_init_std > 0:
            raise ValueError(f'ctx_init_std={ctx_init_std!r} must be > 0')
        if ctx_init is not None:
            if not isinstance(ctx_init, str) or not ctx_init.strip():
                raise ValueError(f'ctx_init={ctx_init!r} must be a non-empty '
                                 'str or None')
            n_init = count_tokens(tokenizer, ctx_init) - 2
            if n_init != num_ctx:
                raise ValueError(
                    f'ctx_init={ctx_init!r} has {n_init} tokens but '
                    f'num_ctx={num_ctx}; set num_ctx={n_init}')
        self.classnames = tuple(classnames)
        self.num_ctx = num_ctx
        self.class_specific_ctx = class_specific_ctx
        self.prompt_template = prompt_template
        width = clip_model.token_embedding.embedding_dim
        context_length = clip_model.positional_embedding.shape[0]

        ctx_text = ctx_init.strip() if ctx_init else ' '.join(['X'] * num_ctx)
        texts = [
            ' '.join(t for t in (ctx_text, prompt_template.format(
                name.replace('_', ' '))) if t) for name in self.classnames
        ]
        ids, eot_idx = tokenize_prompts(
            tokenizer, texts, context_length, owners=self.classnames,
            hint='Use fewer context vectors or a shorter prompt_template')
        causal = getattr(clip_model, 'attn_mask', None) is not None
        embeds = embed_prompts(clip_model.token_embedding, ids, eot_idx,
                               cut=causal)
        self.prompt_texts: List[str] = texts
        self.register_buffer('token_embeds', embeds, persistent=False)
        self.register_buffer('eot_idx', eot_idx, persistent=False)
        self.register_buffer(
            'content_mask', content_mask(eot_idx, embeds.shape[1]),
            persistent=False)

        if num_ctx == 0:
            self.register_parameter('ctx', None)
            return
        num_classes = len(self.classnames)
        if ctx_init:
            init = embeds[0, 1:1 + num_ctx].clone()
            if class_specific_ctx:
                init = init.unsqueeze(0).repeat(num_classes, 1, 1)
        else:
            shape = ((num_classes, num_ctx, width)
                     if class_specific_ctx else (num_ctx, width))
            init = torch.empty(shape).normal_(std=ctx_init_std)
        self.ctx = nn.Parameter(init)

    def forward(self) -> torch.Tensor:
        """Return the prompt embeddings ``[C, L, W]`` with the context in."""
        embeds = self.token_embeds
        if self.ctx is None:
            return embeds
        ctx = self.ctx.to(embeds.dtype)
        if ctx.dim() == 2:
            ctx = ctx.unsqueeze(0).expand(embeds.shape[0], -1, -1)
        return torch.cat(
            [embeds[:, :1], ctx, embeds[:, 1 + self.num_ctx:]], dim=1)

    def pool_tokens(self, embeds: torch.Tensor, mode: str) -> torch.Tensor:
        """Pool prompt embeddings to one vector per class (for L_ta).

        Args:
            embeds (Tensor): Output of :meth:`forward` ``[C, L, W]``.
            mode (str): ``'mean'`` (non-special tokens: context, class name
                and template words) or ``'ctx'`` (context tokens only).

        Returns:
            Tensor: ``[C, W]``.
        """
        if mode == 'mean':
            return masked_mean(embeds, self.content_mask)
        if mode == 'ctx':
            if self.num_ctx == 0:
                raise ValueError("token pooling 'ctx' needs num_ctx > 0")
            return embeds[:, 1:1 + self.num_ctx].mean(dim=1)
        raise ValueError(f'pool_tokens(mode={mode!r}): expected "mean" or '
                         '"ctx" ("eot" pools encoder outputs)')
