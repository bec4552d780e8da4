from .cgla_scores import cgla_scores
from .clip_text_encoder import CLIPTextEncoder
from .mpa_hard_prompt_teacher import MPAHardPromptTeacher
from .mpa_prompt_head import MPAPromptHead
from .mpa_text_prompt_learner import MPATextPromptLearner
from .zero_shot_head import MPAZeroShotHead

__all__ = [
    'CLIPTextEncoder', 'MPAHardPromptTeacher', 'MPAPromptHead',
    'MPATextPromptLearner', 'MPAZeroShotHead', 'cgla_scores'
]
