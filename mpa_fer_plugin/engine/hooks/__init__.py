from .class_name_check_hook import MPAClassNameCheckHook
from .data_seed_hook import MPADataSeedHook, model_input_size
from .enforce import ensure_plugin_hooks
from .invalid_loss_hook import MPAInvalidLossHook, NonFiniteLossError
from .model_card_hook import MPAModelCardHook
from .prototype_hook import PrototypeHook, find_prototype_head

__all__ = [
    'MPAClassNameCheckHook', 'MPADataSeedHook', 'MPAInvalidLossHook',
    'MPAModelCardHook',
    'NonFiniteLossError', 'PrototypeHook', 'ensure_plugin_hooks',
    'find_prototype_head', 'model_input_size'
]
