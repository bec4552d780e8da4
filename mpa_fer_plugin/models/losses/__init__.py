from .prototype_align_loss import (
                                   PrototypeAlignLoss,
                                   class_mean_prototypes,
                                   prototype_distance,
)
from .soft_hard_align_loss import (
                                   SoftHardAlignLoss,
                                   prompt_alignment_loss,
                                   token_alignment_loss,
)

__all__ = [
    'PrototypeAlignLoss', 'SoftHardAlignLoss', 'class_mean_prototypes',
    'prototype_distance', 'prompt_alignment_loss', 'token_alignment_loss'
]
