"""Soft-hard prompt alignment L_t (MPA-FER Eqs. 1-4)."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.registry import MODELS

#: Options of the prompt-level term L_pa (docs/method.md).
PROMPT_LEVEL_MODES = ('l1', 'contrastive', 'cosine')
#: Token pooling options of the token-level term L_ta (docs/method.md).
TOKEN_POOLING_MODES = ('mean', 'eot', 'ctx')
#: Reductions of the ``'l1'`` prompt-level term: ``'sum'`` is Eq. 3 (the L1
#: norm, summed over the D dimensions), ``'mean'`` divides it by D
#: (PromptSRC's ``F.l1_loss(reduction='mean')``).
L1_REDUCTIONS = ('sum', 'mean')


def token_alignment_loss(soft: torch.Tensor, hard: torch.Tensor,
                         tau: float) -> torch.Tensor:
    """Contrastive soft-hard alignment over classes (Eqs. 1-2).

    ``P(y=d | t*_d) = exp(sim(t_d, t*_d)/tau) / sum_c exp(sim(t_c, t*_d)/tau)``
    (Eq. 1) and ``L_ta = -(1/C) sum_d log P(y=d | t*_d)`` (Eq. 2), with
    ``sim`` the cosine similarity: each hard prompt picks its own class
    among all soft prompts.

    Args:
        soft (Tensor): One pooled soft-prompt vector per class ``[C, W]``.
        hard (Tensor): One pooled hard-prompt vector per class ``[C, W]``.
        tau (float): Temperature.

    Returns:
        Tensor: The scalar loss.
    """
    logits = F.normalize(hard, dim=-1) @ F.normalize(soft, dim=-1).t()
    target = torch.arange(logits.shape[0], device=logits.device)
    return F.cross_entropy(logits / tau, target)


def prompt_alignment_loss(soft_feats: torch.Tensor, hard_feats: torch.Tensor,
                          mode: str = 'l1',
                          tau: float = 0.07,
                          l1_reduction: str = 'sum') -> torch.Tensor:
    """Prompt-level alignment of encoded prompts ``theta(t_c)`` (Eq. 3).

    ``'l1'``: ``L_pa = (1/C) sum_c ||theta(t_c) - theta(t*_c)||_1`` on
    L2-normalised features: the L1 norm of each class's difference (summed
    over the ``D`` dimensions), averaged over classes (Eq. 3,
    ``l1_reduction='sum'``); ``l1_reduction='mean'`` also divides by ``D``
    (PromptSRC's reduction, about ``D`` times weaker); ``'contrastive'``:
    the Eq. 1-2 form on the encoded features (S4); ``'cosine'``:
    ``1 - mean_c cos`` (KgCoOp).

    Args:
        soft_feats (Tensor): Encoded soft prompts ``[C, D]``.
        hard_feats (Tensor): Encoded hard prompts ``[C, D]``.
        mode (str): ``'l1'``, ``'contrastive'`` or ``'cosine'``.
            Defaults to ``'l1'``.
        tau (float): Temperature of the contrastive form. Defaults to 0.07.
        l1_reduction (str): ``'sum'`` (Eq. 3) or ``'mean'`` over the
            dimensions, for ``mode='l1'``. Defaults to ``'sum'``.

    Returns:
        Tensor: The scalar loss.
    """
    if l1_reduction not in L1_REDUCTIONS:
        raise ValueError(f'l1_reduction={l1_reduction!r} must be one of '
                         f'{L1_REDUCTIONS}')
    if mode == 'contrastive':
        return token_alignment_loss(soft_feats, hard_feats, tau)
    soft = F.normalize(soft_feats, dim=-1)
    hard = F.normalize(hard_feats, dim=-1)
    if mode == 'l1':
        per_class = (soft - hard).abs().sum(dim=-1)
        if l1_reduction == 'mean':
            per_class = per_class / soft.shape[-1]
        return per_class.mean()
    if mode == 'cosine':
        return 1 - (soft * hard).sum(dim=-1).mean()
    raise ValueError(f'mode={mode!r} must be one of {PROMPT_LEVEL_MODES}')


@MODELS.register_module()
class SoftHardAlignLoss(nn.Module):
    """Soft-hard prompt alignment ``L_t = L_ta + L_pa`` (Eq. 4).

    From `MPA-FER <https://arxiv.org/abs/2506.21017>`_ §3.4: the learnable
    (soft) prompts are pulled towards the LLM-enriched (hard) prompts at the
    token level (:func:`token_alignment_loss`, Eqs. 1-2, on pooled token
    embeddings) and at the prompt level (:func:`prompt_alignment_loss`,
    Eq. 3, on the encoded features). The result is
    ``loss_weight * (token_weight * L_ta + prompt_weight * L_pa)``. It
    only reaches the text context.

    KgCoOp is ``token_weight=0, prompt_level='cosine'`` with granularity-1
    hard prompts.

    Args:
        tau (float): Temperature of the contrastive terms (docs/method.md;
            0.01 diverges). Defaults to 0.07.
        token_pooling (str): How each prompt's token sequence is pooled to
            the one vector per class that Eqs. 1-2 compare (read by
            :class:`MPAPromptHead`):

            * ``'eot'`` (default): the text transformer's state at the
              end-of-text position (after ``ln_final``, before the
              projection), for soft and hard prompts alike. It is the only
              token that has attended to every token of its prompt, so with
              a shared context it is class-specific and each context vector
              gets its own gradient through attention.
            * ``'mean'``: the mean of the non-special *input* token
              embeddings (S4). With a shared context this is
              ``(sum_j v_j + sum class tokens) / n_c``: every context vector
              ``v_j`` receives the same gradient, so ``L_ta`` can only
              translate the context mean (tested). Live only with
              ``class_specific_ctx=True``.
            * ``'ctx'``: soft side the context tokens only, hard side the
              non-special tokens; needs a class-specific context (a shared
              one pools to the same vector for every class).
        prompt_level (str): Form of ``L_pa``: ``'l1'``, ``'contrastive'`` or
            ``'cosine'``. Defaults to ``'l1'``.
        l1_reduction (str): For ``prompt_level='l1'``: ``'sum'`` is Eq. 3
            (the L1 norm of each class's normalised feature difference,
            averaged over classes); ``'mean'`` also averages over the ``D``
            dimensions (PromptSRC's reduction, ``D`` times weaker).
            Defaults to ``'sum'``.
        token_weight (float): Weight of ``L_ta``; 0 turns it off.
            Defaults to 1.0.
        prompt_weight (float): Weight of ``L_pa``; 0 turns it off.
            Defaults to 1.0.
        loss_weight (float): Overall weight (``beta`` of Eq. 12).
            Defaults to 1.0.
    """

    def __init__(self,
                 tau: float = 0.07,
                 token_pooling: str = 'eot',
                 prompt_level: str = 'l1',
                 l1_reduction: str = 'sum',
                 token_weight: float = 1.0,
                 prompt_weight: float = 1.0,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if not isinstance(tau, (int, float)) or not tau > 0:
            raise ValueError(f'tau={tau!r} must be a number > 0')
        if token_pooling not in TOKEN_POOLING_MODES:
            raise ValueError(f'token_pooling={token_pooling!r} must be one '
                             f'of {TOKEN_POOLING_MODES}')
        if prompt_level not in PROMPT_LEVEL_MODES:
            raise ValueError(f'prompt_level={prompt_level!r} must be one of '
                             f'{PROMPT_LEVEL_MODES}')
        if l1_reduction not in L1_REDUCTIONS:
            raise ValueError(f'l1_reduction={l1_reduction!r} must be one of '
                             f'{L1_REDUCTIONS}')
        for name, value in (('token_weight', token_weight),
                            ('prompt_weight', prompt_weight),
                            ('loss_weight', loss_weight)):
            if not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f'{name}={value!r} must be a number >= 0')
        if token_weight == 0 and prompt_weight == 0:
            raise ValueError('token_weight and prompt_weight are both 0; '
                             'set loss_align=None to turn L_t off')
        self.tau = float(tau)
        self.token_pooling = token_pooling
        self.prompt_level = prompt_level
        self.l1_reduction = l1_reduction
        self.token_weight = float(token_weight)
        self.prompt_weight = float(prompt_weight)
        self.loss_weight = float(loss_weight)

    def forward(self, soft_tokens: Optional[torch.Tensor],
                hard_tokens: Optional[torch.Tensor],
                soft_feats: torch.Tensor,
                hard_feats: torch.Tensor) -> torch.Tensor:
        """Compute ``L_t`` (Eq. 4).

        Args:
            soft_tokens (Tensor, optional): Pooled soft prompts ``[C, W]``;
                may be None when ``token_weight`` is 0.
            hard_tokens (Tensor, optional): Pooled hard prompts ``[C, W]``.
            soft_feats (Tensor): Encoded soft prompts ``[C, D]``.
            hard_feats (Tensor): Encoded hard prompts ``[C, D]``.

        Returns:
            Tensor: The weighted scalar loss.
        """
        loss = soft_feats.new_zeros(())
        if self.token_weight:
            if soft_tokens is None or hard_tokens is None:
                raise ValueError('token-level alignment needs soft_tokens '
                                 'and hard_tokens')
            loss = loss + self.token_weight * token_alignment_loss(
                soft_tokens, hard_tokens, self.tau)
        if self.prompt_weight:
            loss = loss + self.prompt_weight * prompt_alignment_loss(
                soft_feats, hard_feats, self.prompt_level, self.tau,
                self.l1_reduction)
        return self.loss_weight * loss
