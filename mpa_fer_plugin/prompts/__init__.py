from .descriptions import (
    DEFAULT_DESCRIPTIONS,
    count_clip_tokens,
    load_descriptions,
    save_descriptions,
    validate_descriptions,
)
from .templates import (
    HARD_PROMPT_TEMPLATES,
    build_hard_prompts,
    format_hard_prompt,
)

# `generation` (the LLM client side) is not imported here on purpose: it
# pulls in `openai`, which training and inference never need.
__all__ = [
    'DEFAULT_DESCRIPTIONS', 'load_descriptions', 'HARD_PROMPT_TEMPLATES',
    'build_hard_prompts', 'format_hard_prompt', 'validate_descriptions',
    'save_descriptions', 'count_clip_tokens'
]
