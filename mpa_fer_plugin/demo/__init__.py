"""The offline demo world's model side: the tiny CLIP's pretraining
(:mod:`.pretrain_tiny_clip`), its captions and the hard-prompt descriptions
of the generated faces (:mod:`.captions`), the world's verified reuse
(:mod:`.world`) and frozen-CLIP probes (:mod:`.probe`)."""
from .captions import REGION_PHRASES, demo_descriptions, make_caption
from .pretrain_tiny_clip import TINY_DEMO_CLIP

__all__ = ['REGION_PHRASES', 'TINY_DEMO_CLIP', 'demo_descriptions',
           'make_caption']
