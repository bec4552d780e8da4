from .hooks import MPAClassNameCheckHook, PrototypeHook, find_prototype_head
from .optimizers import (
    MPAAmpOptimWrapper,
    MPATrainableOptimWrapperConstructor,
)
from .prototype_cache import (
    cache_path,
    load_prototypes,
    prototype_cache_key,
    save_prototypes,
)
from .prototypes import (
    build_prototype_dataloader,
    check_class_coverage,
    compute_prototypes,
    select_per_class,
    with_test_pipeline,
)

__all__ = [
    'MPAAmpOptimWrapper', 'MPAClassNameCheckHook',
    'MPATrainableOptimWrapperConstructor',
    'PrototypeHook', 'build_prototype_dataloader', 'cache_path',
    'check_class_coverage', 'compute_prototypes', 'find_prototype_head',
    'load_prototypes', 'prototype_cache_key', 'save_prototypes',
    'select_per_class', 'with_test_pipeline'
]
