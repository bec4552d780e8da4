"""Cross-modal global-local alignment (CGLA) scores (MPA-FER Eqs. 8-10)."""
from typing import Optional

import torch
import torch.nn.functional as F

#: How the ``k`` patches of the local term are chosen: ``'topk'`` is
#: Eq. 9 (per class, by similarity); ``'random'`` is a control (``k``
#: patches drawn uniformly per image, the same for every class).
PATCH_SELECTIONS = ('topk', 'random')


def cgla_scores(global_feats: torch.Tensor,
                text_feats: torch.Tensor,
                patch_feats: Optional[torch.Tensor] = None,
                topk: int = 16,
                local_weight: float = 1.0,
                selection: str = 'topk',
                generator: Optional[torch.Generator] = None
                ) -> torch.Tensor:
    """Cross-modal global-local alignment scores (Eqs. 8-10).

    ``s_g(x, c) = cos(z^g, theta(t_c))``;
    ``s^l_{i,c} = cos(z^l_i, theta(t_c))`` (Eq. 8);
    ``S_local(x, c) = (1/k) sum_{i in TopK_c} s^l_{i,c}`` with the top-k
    patches chosen **per class** (Eq. 9);
    ``S(x, c) = s_g(x, c) + local_weight * S_local(x, c)`` (Eq. 10, where
    ``local_weight = 1``).

    Args:
        global_feats (Tensor): Global image features ``[B, D]``.
        text_feats (Tensor): Class text features ``[C, D]``.
        patch_feats (Tensor, optional): Patch features ``[B, N, D]``;
            needed when ``local_weight > 0``.
        topk (int): Patches ``k`` per class. Defaults to 16.
        local_weight (float): Weight of the local term. Defaults to 1.0.
        selection (str): ``'topk'`` (Eq. 9) or ``'random'`` (control:
            the mean similarity over ``k`` patches drawn at random per
            image, shared by all classes). With ``topk = N`` both are the
            mean over all patches (mean pooling). Defaults to ``'topk'``.
        generator (torch.Generator, optional): RNG of ``'random'``; None
            uses torch's global RNG. Defaults to None.

    Returns:
        Tensor: Scores ``[B, C]`` (before the logit scale).
    """
    text = F.normalize(text_feats, dim=-1)
    scores = F.normalize(global_feats, dim=-1) @ text.t()
    if local_weight == 0:
        return scores
    if patch_feats is None:
        raise ValueError('the local branch (local_weight > 0) needs patch '
                         'features; the backbone returned none '
                         '(out_patches=False)')
    if topk > patch_feats.shape[1]:
        raise ValueError(f'topk_patches={topk} exceeds the number of patch '
                         f'tokens N={patch_feats.shape[1]}')
    if selection not in PATCH_SELECTIONS:
        raise ValueError(f'selection={selection!r} must be one of '
                         f'{PATCH_SELECTIONS}')
    local = torch.einsum('bnd,cd->bcn', F.normalize(patch_feats, dim=-1),
                         text)
    if selection == 'random':
        batch, num = patch_feats.shape[:2]
        keys = torch.rand(batch, num, generator=generator,
                          device=generator.device if generator is not None
                          else 'cpu').to(local.device)
        idx = keys.argsort(dim=-1)[:, :topk]
        idx = idx.unsqueeze(1).expand(-1, local.shape[1], -1)
        local = local.gather(-1, idx).mean(dim=-1)
    else:
        local = local.topk(topk, dim=-1).values.mean(dim=-1)
    return scores + local_weight * local
