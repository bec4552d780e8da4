from .descriptions import DEFAULT_DESCRIPTIONS, load_descriptions
from .templates import (HARD_PROMPT_TEMPLATES, build_hard_prompts,
                        format_hard_prompt)

__all__ = [
    'DEFAULT_DESCRIPTIONS', 'load_descriptions', 'HARD_PROMPT_TEMPLATES',
    'build_hard_prompts', 'format_hard_prompt'
]
