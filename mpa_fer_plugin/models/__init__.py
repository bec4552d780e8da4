from .backbones import MPAPromptedViT
from .classifiers import MPAFERClassifier
from .heads import MPAPromptHead
from .losses import PrototypeAlignLoss, SoftHardAlignLoss
from .utils import (
                    clear_clip_cache,
                    clip_dims,
                    get_tokenizer,
                    load_clip,
                    normalize_clip_spec,
)

__all__ = [
    'load_clip', 'clear_clip_cache', 'get_tokenizer', 'clip_dims',
    'normalize_clip_spec', 'MPAPromptedViT', 'MPAFERClassifier',
    'MPAPromptHead', 'PrototypeAlignLoss', 'SoftHardAlignLoss'
]
