from .amp_optim_wrapper import MPAAmpOptimWrapper
from .trainable_constructor import MPATrainableOptimWrapperConstructor

__all__ = ['MPAAmpOptimWrapper', 'MPATrainableOptimWrapperConstructor']
