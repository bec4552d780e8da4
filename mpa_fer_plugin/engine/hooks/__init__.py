from .class_name_check_hook import MPAClassNameCheckHook

__all__ = ['MPAClassNameCheckHook']
