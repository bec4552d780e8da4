"""Zero-shot CLIP scoring: a class-name template or an ensemble of
descriptions, nothing learned."""
from typing import Optional, Sequence, Union

import torch
from mmpretrain.registry import MODELS

from ..utils.clip_loader import get_tokenizer, load_clip
from .mpa_hard_prompt_teacher import MPAHardPromptTeacher
from .mpa_prompt_head import MPAPromptHead

#: The two ways of building the class text features.
CLASSIFIERS = ('template', 'descriptions')


@MODELS.register_module()
class MPAZeroShotHead(MPAPromptHead):
    """Frozen CLIP scores against fixed text prompts (zero-shot).

    No context vectors, no losses: the class scores are
    ``logit_scale * cos(image, text_c)`` (plus the CGLA local term when
    ``local_weight > 0``). Two classifiers:

    * ``'template'``: one prompt per class, ``prompt_template`` with the
      class name (CLIP's usual ``'a photo of a {}.'``);
    * ``'descriptions'``: an ensemble per class: one prompt per description
      of a descriptions JSON (``'a photo of a person making a facial
      expression of {class}, {description}'``), encoded, L2-normalised,
      averaged and normalised again (the hard prompts of
      :class:`MPAHardPromptTeacher`).

    Use it with ``backbone.num_prompts=0``. The model has nothing to load,
    so inference tools take no checkpoint for it; its model card says
    ``kind='zero-shot'``.

    Args:
        classnames (Sequence[str]): Class names in label order.
        clip (dict): The ``clip`` spec.
        classifier (str): ``'template'`` or ``'descriptions'``. Defaults to
            ``'template'``.
        prompt_template (str): The template of ``'template'`` (``{}``: the
            class name). Defaults to ``'a photo of a {}.'``.
        descriptions (str, optional): Descriptions JSON of
            ``'descriptions'``; None: the shipped
            ``mpa_fer_plugin/prompts/data/fer8_descriptions.json``.
        granularity (int): Prompt template of ``'descriptions'`` (3: with
            the description; 1, 2: class-name templates). Defaults to 3.
        description_aggregation (str): ``'mean'`` (the ensemble) or
            ``'concat'`` (one long prompt per class). Defaults to
            ``'mean'``.
        truncate_hard_prompts (bool): Truncate prompts longer than CLIP's
            context instead of raising. Defaults to False.
        local_weight (float): Weight of the CGLA local term. Defaults to 0
            (global scores only, as CLIP).
        **kwargs: Other :class:`MPAPromptHead` arguments (``topk_patches``,
            ``logit_scale``, ...).
    """

    def __init__(self,
                 classnames: Sequence[str],
                 clip: dict,
                 classifier: str = 'template',
                 prompt_template: str = 'a photo of a {}.',
                 descriptions: Optional[str] = None,
                 granularity: int = 3,
                 description_aggregation: str = 'mean',
                 truncate_hard_prompts: bool = False,
                 local_weight: Union[int, float] = 0.0,
                 **kwargs) -> None:
        if classifier not in CLASSIFIERS:
            raise ValueError(f'classifier={classifier!r} must be one of '
                             f'{CLASSIFIERS}')
        for key in ('num_ctx', 'loss_align', 'loss_proto'):
            if kwargs.pop(key, None):
                raise ValueError(f'MPAZeroShotHead learns nothing: do not '
                                 f'set {key}')
        super().__init__(
            classnames, clip, num_ctx=0, prompt_template=prompt_template,
            descriptions=descriptions, granularity=granularity,
            description_aggregation=description_aggregation,
            truncate_hard_prompts=truncate_hard_prompts,
            local_weight=local_weight, loss_align=None, loss_proto=None,
            **kwargs)
        self.classifier = classifier
        self.template = prompt_template
        self.ensemble = None
        if classifier == 'descriptions':
            self.ensemble = MPAHardPromptTeacher(
                load_clip(clip), get_tokenizer(clip), self.text_encoder,
                self.classnames, descriptions=descriptions,
                granularity=granularity,
                aggregation=description_aggregation, token_pooling='eot',
                truncate=truncate_hard_prompts)

    @property
    def prompt_texts(self):
        """list[list[str]]: The prompts of each class."""
        if self.ensemble is not None:
            return self.ensemble.prompt_texts
        return [[self.template.format(c)] for c in self.classnames]

    def text_features(self) -> torch.Tensor:
        """The class text features ``[C, D]`` of the chosen classifier."""
        if self.ensemble is None:
            return super().text_features()
        return self.ensemble.text_feats
