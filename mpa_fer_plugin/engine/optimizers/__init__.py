from .trainable_constructor import MPATrainableOptimWrapperConstructor

__all__ = ['MPATrainableOptimWrapperConstructor']
