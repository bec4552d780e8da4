from .categories import (AFFECTNET_NATIVE, FER7_CLASSES, FER8_CLASSES,
                         FER_CLASSES, FERPLUS_NATIVE, LABEL_SETS, RAFDB_NATIVE,
                         get_label_set, native_to_canonical)

__all__ = [
    'FER_CLASSES', 'FER7_CLASSES', 'FER8_CLASSES', 'RAFDB_NATIVE',
    'AFFECTNET_NATIVE', 'FERPLUS_NATIVE', 'LABEL_SETS', 'get_label_set',
    'native_to_canonical'
]
