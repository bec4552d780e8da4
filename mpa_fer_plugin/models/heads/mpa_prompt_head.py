"""The MPA-FER prompt head: text side, CGLA scoring and the losses."""
import logging
import os.path as osp
from types import MappingProxyType
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmpretrain.evaluation.metrics import Accuracy
from mmpretrain.models.heads import ClsHead
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from ..utils.clip_loader import clip_dims, get_tokenizer, load_clip
from ..utils.frozen_state import check_init_cfg, register_frozen_state_hooks
from .cgla_scores import PATCH_SELECTIONS, cgla_scores
from .clip_text_encoder import CLIPTextEncoder
from .mpa_hard_prompt_teacher import MPAHardPromptTeacher
from .mpa_text_prompt_learner import MPATextPromptLearner

#: Read-only defaults of the three losses (copied before building).
DEFAULT_LOSS_CLS = MappingProxyType(
    dict(type='CrossEntropyLoss', loss_weight=1.0))
DEFAULT_LOSS_ALIGN = MappingProxyType(dict(type='SoftHardAlignLoss'))
DEFAULT_LOSS_PROTO = MappingProxyType(dict(type='PrototypeAlignLoss'))


@MODELS.register_module()
class MPAPromptHead(ClsHead):
    """Prompt head of MPA-FER: soft text prompts, CGLA and all the losses.

    The head of `MPA-FER <https://arxiv.org/abs/2506.21017>`_. It owns the
    frozen CLIP text tower (:class:`CLIPTextEncoder`, loaded from the same
    ``clip`` spec as the backbone, so both share one CLIP instance), the
    learnable text context (:class:`MPATextPromptLearner`, paper §3.1), the
    hard-prompt targets (:class:`MPAHardPromptTeacher`, paper §3.3, built only
    when ``loss_align`` is on) and the class prototypes (paper §3.5). Class
    scores are the CGLA scores of :func:`cgla_scores` (Eqs. 8-10) times
    ``logit_scale``. The losses (Eq. 12:
    ``L = L_vt + beta L_t + gamma L_v``, ``beta``/``gamma`` are the
    ``loss_weight`` of each loss) are returned as ``loss_cls`` (Eq. 11),
    ``loss_align`` (Eq. 4) and ``loss_proto`` (Eq. 7).

    In eval mode the encoded soft prompts are cached and recomputed only
    when the context changes (optimizer steps and state-dict loads bump the
    parameter's version), the device changes or inference mode toggles.

    Baselines are switches (see the README): zero-shot CLIP is
    ``num_ctx=0, prompt_template='a photo of a {}.', local_weight=0`` with
    ``num_prompts=0`` in the backbone; CoOp adds ``num_ctx``; KgCoOp adds
    ``loss_align`` with ``granularity=1``, ``prompt_level='cosine'``,
    ``token_weight=0``.

    Args:
        classnames (Sequence[str]): Class names in label order; must equal
            the dataset's ``metainfo['classes']`` (checked by
            ``MPAClassNameCheckHook``).
        clip (dict): The ``clip`` spec (see
            :func:`mpa_fer_plugin.models.utils.load_clip`).
        num_ctx (int): Text context vectors ``M``. Defaults to 10.
        ctx_init (str, optional): Phrase initialising the context (must
            have ``num_ctx`` tokens); None: ``N(0, 0.02^2)``. Defaults to
            None.
        class_specific_ctx (bool): One context per class (CSC) instead of a
            shared one. Defaults to False.
        ctx_init_std (float): Std of the random context initialisation.
            Defaults to 0.02.
        prompt_template (str): Fixed text after the context, ``{}`` = class
            name. Defaults to ``'{}.'``.
        descriptions (str, optional): Descriptions JSON of the hard prompts
            (granularity 3); None uses the shipped file. Defaults to None.
        granularity (int): Hard-prompt template 1, 2 or 3. Defaults to 3.
        description_aggregation (str): With several descriptions per class:
            ``'mean'`` encodes one prompt per description and averages the
            features; ``'concat'`` joins them into one prompt per class
            (docs/method.md). Defaults to ``'mean'``.
        truncate_hard_prompts (bool): Warn and truncate hard prompts longer
            than CLIP's context instead of raising. Defaults to False.
        hard_prompt_end_period (bool): Append ``"."`` to granularity-3 hard
            prompts whose description has none. Defaults to False (the
            template as the paper quotes it).
        shuffle_descriptions (bool): Control: each class gets another
            class's descriptions (a seeded derangement). Defaults to False.
        shuffle_descriptions_seed (int): Seed of that derangement.
            Defaults to 0.
        topk_patches (int | str): Patches ``k`` per class in CGLA; ``'all'``
            uses every patch token (``k = N``: mean pooling, a control).
            Defaults to 16.
        patch_selection (str): ``'topk'`` (Eq. 9, per class by similarity)
            or ``'random'`` (control: ``k`` random patches per image).
            Defaults to ``'topk'``.
        local_weight (float): Weight of the local term (Eq. 10 uses 1);
            0 turns the local branch off. Defaults to 1.0.
        logit_scale (float | str): Multiplier ``1/tau'`` of the scores, or
            ``'clip'`` for CLIP's learned scale. Defaults to 100.0.
        loss_cls (dict, optional): CE on the CGLA logits (Eq. 11).
            Defaults to ``dict(type='CrossEntropyLoss', loss_weight=1.0)``.
        loss_align (dict, optional): Soft-hard alignment (Eq. 4), None to
            turn it off. Defaults to ``dict(type='SoftHardAlignLoss')``.
        loss_proto (dict, optional): Prototype alignment (Eq. 7), None to
            turn it off. Defaults to ``dict(type='PrototypeAlignLoss')``.
        prototypes (str, optional): A ``.pt`` file with the prototypes
            ``[C, D]`` (a tensor or a dict with key ``'prototypes'``); None
            leaves them to :meth:`set_prototypes` (e.g. from a hook).
            Defaults to None.
        topk (int | tuple[int]): Top-k accuracy when ``cal_acc``.
            Defaults to ``(1, )``.
        cal_acc (bool): Log the training accuracy. Defaults to False.
        init_cfg (dict, optional): Only ``type='Pretrained'`` is allowed
            (others would overwrite the frozen CLIP). Defaults to None.
    """

    def __init__(self,
                 classnames: Sequence[str],
                 clip: dict,
                 num_ctx: int = 10,
                 ctx_init: Optional[str] = None,
                 class_specific_ctx: bool = False,
                 ctx_init_std: float = 0.02,
                 prompt_template: str = '{}.',
                 descriptions: Optional[str] = None,
                 granularity: int = 3,
                 description_aggregation: str = 'mean',
                 truncate_hard_prompts: bool = False,
                 hard_prompt_end_period: bool = False,
                 shuffle_descriptions: bool = False,
                 shuffle_descriptions_seed: int = 0,
                 topk_patches: Union[int, str] = 16,
                 patch_selection: str = 'topk',
                 local_weight: float = 1.0,
                 logit_scale: Union[float, str] = 100.0,
                 loss_cls: Optional[Mapping] = DEFAULT_LOSS_CLS,
                 loss_align: Optional[Mapping] = DEFAULT_LOSS_ALIGN,
                 loss_proto: Optional[Mapping] = DEFAULT_LOSS_PROTO,
                 prototypes: Optional[str] = None,
                 topk: Union[int, Tuple[int]] = (1, ),
                 cal_acc: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        check_init_cfg(init_cfg, type(self).__name__)
        super().__init__(
            loss=nn.Identity() if loss_cls is None else self._build(loss_cls),
            topk=topk, cal_acc=cal_acc, init_cfg=init_cfg)
        if loss_cls is None:
            self.loss_module = None
        self.classnames = self._check_classnames(classnames)
        self.num_classes = len(self.classnames)
        if not isinstance(clip, dict):
            raise TypeError(f'clip must be a dict (a clip spec), got '
                            f'{type(clip).__name__}')
        if topk_patches != 'all' and (isinstance(topk_patches, bool) or
                                      not isinstance(topk_patches, int)
                                      or topk_patches < 1):
            raise ValueError(f'topk_patches={topk_patches!r} must be an int '
                             ">= 1 or 'all'")
        if patch_selection not in PATCH_SELECTIONS:
            raise ValueError(f'patch_selection={patch_selection!r} must be '
                             f'one of {PATCH_SELECTIONS}')
        if not isinstance(local_weight, (int, float)) or local_weight < 0:
            raise ValueError(f'local_weight={local_weight!r} must be a '
                             'number >= 0')
        if granularity not in (1, 2, 3):
            raise ValueError(f'granularity={granularity!r} must be 1, 2 or 3')
        if description_aggregation not in ('mean', 'concat'):
            raise ValueError(f'description_aggregation='
                             f'{description_aggregation!r} must be "mean" '
                             'or "concat"')

        clip_model = load_clip(clip)
        tokenizer = get_tokenizer(clip)
        self.embed_dim, _, self.text_width = clip_dims(clip_model)
        self.local_weight = float(local_weight)
        self.logit_scale = self._resolve_logit_scale(logit_scale, clip_model)
        grid = getattr(clip_model.visual, 'grid_size', None)
        if topk_patches == 'all':
            if grid is None:
                raise ValueError("topk_patches='all' needs a ViT image "
                                 'tower with a patch grid')
            topk_patches = int(grid[0] * grid[1])
        self.topk_patches = topk_patches
        self.patch_selection = patch_selection
        if grid is not None and self.local_weight > 0 and \
                topk_patches > grid[0] * grid[1]:
            raise ValueError(
                f'topk_patches={topk_patches} exceeds the number of patch '
                f'tokens N={grid[0] * grid[1]} of this CLIP')

        self.text_encoder = CLIPTextEncoder(clip_model)
        self.prompt_learner = MPATextPromptLearner(
            clip_model, tokenizer, self.classnames, num_ctx=num_ctx,
            ctx_init=ctx_init, class_specific_ctx=class_specific_ctx,
            ctx_init_std=ctx_init_std, prompt_template=prompt_template)

        self.loss_align = None if loss_align is None else \
            self._build(loss_align)
        self.loss_proto = None if loss_proto is None else \
            self._build(loss_proto)
        self.hard_prompts = None
        if self.loss_align is not None:
            pooling = getattr(self.loss_align, 'token_pooling', 'mean')
            if pooling == 'ctx' and not (num_ctx > 0 and class_specific_ctx):
                raise ValueError(
                    "token_pooling='ctx' needs class_specific_ctx=True and "
                    'num_ctx > 0: a shared context pools to the same vector '
                    'for every class, so L_ta would be constant')
            if pooling == 'mean' and num_ctx > 0 and not class_specific_ctx \
                    and getattr(self.loss_align, 'token_weight', 0):
                print_log(
                    "MPAPromptHead: token_pooling='mean' with a shared "
                    'context gives every context vector the same L_ta '
                    'gradient (it only moves their mean); '
                    "token_pooling='eot' gives a class-specific signal",
                    logger='current', level=logging.WARNING)
            self.hard_prompts = MPAHardPromptTeacher(
                clip_model, tokenizer, self.text_encoder, self.classnames,
                descriptions=descriptions, granularity=granularity,
                aggregation=description_aggregation,
                token_pooling=pooling, truncate=truncate_hard_prompts,
                end_period=hard_prompt_end_period,
                shuffle=shuffle_descriptions,
                shuffle_seed=shuffle_descriptions_seed)
        elif shuffle_descriptions:
            raise ValueError('shuffle_descriptions=True needs loss_align '
                             '(the descriptions are only used by L_t)')

        self.register_buffer('prototypes',
                             torch.zeros(self.num_classes, self.embed_dim))
        self.register_buffer('prototypes_set', torch.tensor(False))
        if prototypes is not None:
            self.set_prototypes(self._load_prototypes(prototypes))
        self._text_cache: Optional[tuple] = None
        # Post-hoc calibration (mpa_fer_plugin.evaluation.calibration):
        # predict() returns softmax(logits / temperature); the logits of
        # forward() and the arg-max are unchanged. Set from a checkpoint's
        # meta['calibration'] when it is loaded for inference.
        self.temperature = 1.0
        register_frozen_state_hooks(self, ['text_encoder'])

    @staticmethod
    def _build(cfg: Union[Mapping, nn.Module]) -> nn.Module:
        if isinstance(cfg, nn.Module):
            return cfg
        if not isinstance(cfg, Mapping):
            raise TypeError(f'a loss must be a config dict, a module or '
                            f'None, got {cfg!r}')
        return MODELS.build(dict(cfg))

    @staticmethod
    def _check_classnames(classnames: Sequence[str]) -> Tuple[str, ...]:
        if isinstance(classnames, str) or not isinstance(
                classnames, (list, tuple)):
            raise TypeError(f'classnames={classnames!r} must be a list or '
                            'tuple of str')
        names = tuple(classnames)
        if not names or any(not isinstance(n, str) or not n.strip()
                            for n in names):
            raise ValueError(f'classnames={names!r} must be non-empty str')
        if len({n.strip().lower() for n in names}) != len(names):
            raise ValueError(f'classnames={names!r} has duplicates')
        return names

    @staticmethod
    def _resolve_logit_scale(value: Union[float, str],
                             clip_model: nn.Module) -> float:
        if value == 'clip':
            return float(clip_model.logit_scale.detach().exp())
        if isinstance(value, bool) or not isinstance(
                value, (int, float)) or not value > 0:
            raise ValueError(f"logit_scale={value!r} must be a number > 0 or "
                             "'clip'")
        return float(value)

    def _load_prototypes(self, path: str) -> torch.Tensor:
        if not isinstance(path, str) or not osp.isfile(path):
            raise FileNotFoundError(f'prototypes file {path!r} not found')
        data = torch.load(path, map_location='cpu', weights_only=True)
        if isinstance(data, dict):
            if 'prototypes' not in data:
                raise ValueError(f'prototypes file {path!r} is a dict '
                                 f'without a "prototypes" key '
                                 f'(keys: {sorted(data)})')
            data = data['prototypes']
        if not isinstance(data, torch.Tensor):
            raise TypeError(f'prototypes file {path!r} holds a '
                            f'{type(data).__name__}, not a tensor')
        return data

    @property
    def uses_local(self) -> bool:
        """bool: Whether the scores need the patch features."""
        return self.local_weight > 0

    @property
    def has_prototypes(self) -> bool:
        """bool: Whether class prototypes have been set."""
        return bool(self.prototypes_set)

    def set_prototypes(self, prototypes: torch.Tensor) -> None:
        """Set the class prototypes used by ``loss_proto`` (Eq. 6 output).

        Args:
            prototypes (Tensor): ``[C, D]``, in :attr:`classnames` order,
                from the frozen (prompt-free) image tower.
        """
        if not isinstance(prototypes, torch.Tensor):
            raise TypeError(f'prototypes must be a tensor, got '
                            f'{type(prototypes).__name__}')
        if tuple(prototypes.shape) != tuple(self.prototypes.shape):
            raise ValueError(
                f'prototypes of shape {tuple(prototypes.shape)} do not match '
                f'(num_classes, embed_dim)={tuple(self.prototypes.shape)}')
        if not torch.isfinite(prototypes).all():
            raise ValueError('prototypes contain NaN or Inf')
        self.prototypes.copy_(prototypes.detach())
        self.prototypes_set.fill_(True)

    def _encode_prompts(self) -> Tuple[torch.Tensor, ...]:
        """Encode the soft prompts: ``(theta(t_c), eot_state, embeds)``."""
        embeds = self.prompt_learner()
        feats, hidden = self.text_encoder(embeds,
                                          self.prompt_learner.eot_idx)
        return feats, hidden, embeds

    def text_features(self) -> torch.Tensor:
        """Return the encoded soft prompts ``theta(t_c)`` ``[C, D]``.

        In training mode they are computed with gradients; in eval mode they
        are computed once and cached (float32, detached).
        """
        if self.training:
            return self._encode_prompts()[0]
        ctx = self.prompt_learner.ctx
        key = (None if ctx is None else (ctx.data_ptr(), ctx._version),
               self.prompt_learner.token_embeds.device,
               torch.is_inference_mode_enabled())
        if self._text_cache is None or self._text_cache[0] != key:
            # Outside any autocast (e.g. ValLoop(fp16=True)): fp32 cache.
            with torch.no_grad(), torch.autocast(key[1].type, enabled=False):
                feats = self._encode_prompts()[0].float()
            self._text_cache = (key, feats)
        return self._text_cache[1]

    def _unpack(self, feats: Sequence[torch.Tensor]
                ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        if isinstance(feats, torch.Tensor) or not 1 <= len(feats) <= 2:
            raise TypeError('MPAPromptHead expects the backbone tuple '
                            '(global_feats[, patch_feats])')
        return feats[0], feats[1] if len(feats) == 2 else None

    def pre_logits(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        """Return the global image feature ``z^g`` ``[B, D]``."""
        return self._unpack(feats)[0]

    def _logits(self, feats, text_feats) -> torch.Tensor:
        global_feats, patch_feats = self._unpack(feats)
        scores = cgla_scores(global_feats, text_feats.to(global_feats.dtype),
                             patch_feats, self.topk_patches,
                             self.local_weight, self.patch_selection)
        return self.logit_scale * scores

    def forward(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        """Return the class logits ``logit_scale * S(x, c)`` ``[B, C]``."""
        return self._logits(feats, self.text_features())

    def _get_predictions(self, cls_score: torch.Tensor,
                         data_samples: Optional[List[DataSample]]
                         ) -> List[DataSample]:
        """mmpretrain's predictions of ``cls_score / temperature``."""
        return super()._get_predictions(cls_score / self.temperature,
                                        data_samples)

    def loss(self, feats: Sequence[torch.Tensor],
             data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """Compute the MPA-FER losses (Eq. 12, summed by the model).

        ``loss_cls`` is ``L_vt = CE(S(x, .)/tau', y)`` (Eq. 11),
        ``loss_align`` is ``L_t`` (Eq. 4) and ``loss_proto`` is ``L_v``
        (Eq. 7); each is weighted by its module's ``loss_weight``.

        Args:
            feats (tuple[Tensor]): ``(global_feats, patch_feats)`` from the
                backbone.
            data_samples (list[DataSample]): With ``gt_label`` (or
                ``gt_score`` from batch augments).
            **kwargs: Passed to ``loss_cls``.

        Returns:
            dict[str, Tensor]: The losses (and accuracy if ``cal_acc``).
        """
        text_feats, eot_states, embeds = self._encode_prompts()
        logits = self._logits(feats, text_feats)
        if 'gt_score' in data_samples[0]:
            target = torch.stack([d.gt_score for d in data_samples])
            labels = target.argmax(dim=-1)
        else:
            target = labels = torch.cat([d.gt_label for d in data_samples])
        losses = dict()
        if self.loss_module is not None:
            losses['loss_cls'] = self.loss_module(
                logits, target, avg_factor=logits.size(0), **kwargs)
        if self.loss_align is not None:
            soft_tokens = None
            if getattr(self.loss_align, 'token_weight', 1):
                pooling = self.loss_align.token_pooling
                soft_tokens = eot_states if pooling == 'eot' else \
                    self.prompt_learner.pool_tokens(embeds, pooling)
            hard_tokens, hard_feats = self.hard_prompts()
            losses['loss_align'] = self.loss_align(
                soft_tokens, hard_tokens.to(text_feats.dtype), text_feats,
                hard_feats.to(text_feats.dtype))
        if self.loss_proto is not None:
            if not self.has_prototypes:
                raise RuntimeError(
                    'loss_proto is on but the head has no class prototypes. '
                    'Set them before training with head.set_prototypes(), '
                    'a prototype hook, or MPAPromptHead(prototypes='
                    "'protos.pt'); or set loss_proto=None.")
            losses['loss_proto'] = self.loss_proto(
                self._unpack(feats)[0], self.prototypes, labels)
        if not losses:
            raise RuntimeError('MPAPromptHead has no active loss (loss_cls, '
                               'loss_align and loss_proto are all None)')
        if self.cal_acc:
            if target.ndim != 1:
                raise ValueError('cal_acc needs hard labels, not gt_score')
            acc = Accuracy.calculate(logits, target, topk=self.topk)
            losses.update(
                {f'accuracy_top-{k}': a for k, a in zip(self.topk, acc)})
        return losses
