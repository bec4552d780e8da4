from .hooks import MPAClassNameCheckHook

__all__ = ['MPAClassNameCheckHook']
