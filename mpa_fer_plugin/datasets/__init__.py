from .affectnet import AffectNet
from .base_fer import BaseFERDataset
from .categories import (
    AFFECTNET_NATIVE,
    CLASS_ALIASES,
    FER7_CLASSES,
    FER8_CLASSES,
    FER_CLASSES,
    FERPLUS_NATIVE,
    LABEL_SETS,
    RAFDB_NATIVE,
    RAFDB_NATIVE_EXT,
    get_label_set,
    native_to_canonical,
    resolve_class_name,
)
from .ferplus import FERPlus, majority_label, probability_label
from .rafdb import RAFDB
from .subsets import ClassSubset, FewShotSubset, HoldoutSplit
from .synthetic import generate_synthetic_fer, render_face
from .transforms import LoadFERImage

__all__ = [
    'FER_CLASSES', 'FER7_CLASSES', 'FER8_CLASSES', 'RAFDB_NATIVE',
    'AFFECTNET_NATIVE', 'FERPLUS_NATIVE', 'LABEL_SETS', 'get_label_set',
    'native_to_canonical', 'RAFDB_NATIVE_EXT', 'CLASS_ALIASES',
    'resolve_class_name', 'BaseFERDataset', 'RAFDB', 'AffectNet', 'FERPlus',
    'majority_label', 'probability_label', 'LoadFERImage',
    'generate_synthetic_fer', 'render_face', 'ClassSubset', 'FewShotSubset',
    'HoldoutSplit'
]
