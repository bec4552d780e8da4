from .class_name_check_hook import MPAClassNameCheckHook
from .prototype_hook import PrototypeHook, find_prototype_head

__all__ = ['MPAClassNameCheckHook', 'PrototypeHook', 'find_prototype_head']
