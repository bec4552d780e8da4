"""The offline demo world's model side: the tiny CLIP's pretraining and
the hard-prompt descriptions of the generated faces."""
from .captions import REGION_PHRASES, demo_descriptions, make_caption
from .pretrain_tiny_clip import TINY_DEMO_CLIP, pretrain_tiny_clip

__all__ = ['REGION_PHRASES', 'TINY_DEMO_CLIP', 'demo_descriptions',
           'make_caption', 'pretrain_tiny_clip']
