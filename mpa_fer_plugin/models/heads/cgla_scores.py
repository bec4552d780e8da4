"""Cross-modal global-local alignment (CGLA) scores (MPA-FER Eqs. 8-10)."""
from typing import Optional

import torch
import torch.nn.functional as F


def cgla_scores(global_feats: torch.Tensor,
                text_feats: torch.Tensor,
                patch_feats: Optional[torch.Tensor] = None,
                topk: int = 16,
                local_weight: float = 1.0) -> torch.Tensor:
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
    local = torch.einsum('bnd,cd->bcn', F.normalize(patch_feats, dim=-1),
                         text)
    local = local.topk(topk, dim=-1).values.mean(dim=-1)
    return scores + local_weight * local
