from .mpa_prompted_vit import MPAPromptedViT

__all__ = ['MPAPromptedViT']
