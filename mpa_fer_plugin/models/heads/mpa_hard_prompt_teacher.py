"""The LLM-enriched hard prompts of MPA-FER as fixed targets (paper §3.3)."""
from typing import List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from mpa_fer_plugin.prompts import (
    DEFAULT_DESCRIPTIONS,
    build_hard_prompts,
    load_descriptions,
)
from mpa_fer_plugin.prompts.templates import shuffle_descriptions

from .mpa_text_prompt_learner import (
    content_mask,
    embed_prompts,
    masked_mean,
    tokenize_prompts,
)


class MPAHardPromptTeacher(BaseModule):
    """Hard prompts ``t*_c`` encoded once into fixed alignment targets.

    Builds the hard prompts of every class at the given granularity
    (docs/method.md, :func:`mpa_fer_plugin.prompts.build_hard_prompts`),
    embeds them with CLIP's frozen token embedding and encodes them with the
    frozen text tower, once, at build time. Two non-persistent buffers
    remain (they are rebuilt from the CLIP weights, never saved):

    * :attr:`token_feats` ``[C, W]``: pooled token embeddings (or EOT
      states for ``token_pooling='eot'``), the target of L_ta;
    * :attr:`text_feats` ``[C, D]``: encoded prompts ``theta(t*_c)``, the
      target of L_pa.

    With several descriptions per class (docs/method.md) and
    ``aggregation='mean'`` the encoded features are L2-normalised, averaged
    and re-normalised and the pooled token vectors averaged;
    ``aggregation='concat'`` joins the descriptions (``', '``) into one
    prompt per class.

    Args:
        clip_model (nn.Module): The ``open_clip.model.CLIP``.
        tokenizer: Its open_clip tokenizer.
        text_encoder (nn.Module): The frozen :class:`CLIPTextEncoder`.
        classnames (Sequence[str]): Class names in label order.
        descriptions (str, optional): Descriptions JSON for granularity 3;
            ``None`` uses the shipped file. Defaults to None.
        granularity (int): Hard-prompt template 1, 2 or 3
            (docs/method.md). Defaults to 3.
        aggregation (str): ``'mean'`` or ``'concat'``. Defaults to
            ``'mean'``.
        token_pooling (str): ``'mean'``/``'ctx'`` (mean of the non-special
            token embeddings) or ``'eot'``. Defaults to ``'mean'``.
        truncate (bool): Warn and truncate prompts longer than the context
            length instead of raising. Defaults to False.
        end_period (bool): Append ``"."`` to granularity-3 prompts whose
            description has none (see
            :func:`mpa_fer_plugin.prompts.format_hard_prompt`). Defaults to
            False (the template as the paper quotes it).
        shuffle (bool): Control experiment: every class gets the
            descriptions of another class (a seeded derangement,
            :func:`~mpa_fer_plugin.prompts.templates.shuffle_descriptions`);
            granularity 3 only. Defaults to False.
        shuffle_seed (int): Seed of that derangement. Defaults to 0.
        chunk_size (int): Prompts encoded per batch at build time.
            Defaults to 64.
    """

    def __init__(self,
                 clip_model: nn.Module,
                 tokenizer,
                 text_encoder: nn.Module,
                 classnames: Sequence[str],
                 descriptions: Optional[str] = None,
                 granularity: int = 3,
                 aggregation: str = 'mean',
                 token_pooling: str = 'mean',
                 truncate: bool = False,
                 end_period: bool = False,
                 shuffle: bool = False,
                 shuffle_seed: int = 0,
                 chunk_size: int = 64) -> None:
        super().__init__()
        if aggregation not in ('mean', 'concat'):
            raise ValueError(f'description_aggregation={aggregation!r} must '
                             'be "mean" or "concat"')
        classnames = list(classnames)
        if shuffle and granularity != 3:
            raise ValueError(
                f'shuffle_descriptions=True needs granularity=3 (there are '
                f'no descriptions at granularity {granularity})')
        descs = None
        if granularity == 3:
            path = descriptions or DEFAULT_DESCRIPTIONS
            descs = load_descriptions(path, classnames)
            if shuffle:
                descs = shuffle_descriptions(classnames, descs, shuffle_seed)
            if aggregation == 'concat':
                descs = {
                    c: [', '.join(d.strip().rstrip('.') for d in v)]
                    for c, v in descs.items()
                }
            self.descriptions_file: Optional[str] = path
        else:
            self.descriptions_file = None
        prompts = build_hard_prompts(classnames, descs, granularity,
                                     end_period=end_period)
        texts = [p for group in prompts for p in group]
        owner_idx = torch.tensor(
            [i for i, group in enumerate(prompts) for _ in group])
        #: The hard-prompt texts of each class.
        self.prompt_texts: List[List[str]] = prompts
        self.granularity = granularity
        self.token_pooling = token_pooling

        ids, eot_idx = tokenize_prompts(
            tokenizer, texts, text_encoder.context_length,
            owners=[classnames[i] for i in owner_idx.tolist()],
            truncate=truncate)
        feats, tokens = [], []
        with torch.no_grad():
            for start in range(0, len(texts), chunk_size):
                sl = slice(start, start + chunk_size)
                embeds = embed_prompts(clip_model.token_embedding, ids[sl],
                                       eot_idx[sl], cut=text_encoder.causal)
                f, hidden = text_encoder(embeds, eot_idx[sl])
                feats.append(F.normalize(f.float(), dim=-1))
                if token_pooling == 'eot':
                    tokens.append(hidden.float())
                else:
                    mask = content_mask(eot_idx[sl], embeds.shape[1])
                    tokens.append(masked_mean(embeds, mask))
        num_classes = len(classnames)
        counts = torch.bincount(owner_idx, minlength=num_classes).unsqueeze(1)

        def class_mean(x: torch.Tensor) -> torch.Tensor:
            out = x.new_zeros(num_classes, x.shape[1])
            return out.index_add_(0, owner_idx, x) / counts.to(x.dtype)

        self.register_buffer(
            'text_feats', F.normalize(class_mean(torch.cat(feats)), dim=-1),
            persistent=False)
        self.register_buffer(
            'token_feats', class_mean(torch.cat(tokens)), persistent=False)

    def forward(self) -> tuple:
        """Return ``(token_feats [C, W], text_feats [C, D])``."""
        return self.token_feats, self.text_feats
