"""An optimizer constructor that only sees the trainable parameters."""
import inspect
from typing import List

import torch.nn as nn
from mmengine.logging import print_log
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS, OPTIMIZERS
from mmpretrain.registry import OPTIM_WRAPPER_CONSTRUCTORS


def _has_trainable(module: nn.Module) -> bool:
    return any(p.requires_grad for p in module.parameters())


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class MPATrainableOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """Build the optimizer from the parameters with ``requires_grad`` only.

    For prompt learning on a frozen CLIP (`MPA-FER
    <https://arxiv.org/abs/2506.21017>`_) almost every parameter is frozen.
    mmengine's :class:`DefaultOptimWrapperConstructor` hands
    ``model.parameters()``, frozen ones included, to the optimizer when
    there is no ``paramwise_cfg`` (harmless for SGD, which skips tensors
    without gradient, but optimizer strategies such as ZeRO then keep
    them), and with a ``paramwise_cfg`` it logs one "is skipped since its
    requires_grad=False" warning per frozen tensor (hundreds for a CLIP).
    This constructor gives the optimizer only the trainable parameters,
    applies a ``paramwise_cfg`` the same way as the default one (sub-modules
    without trainable parameters are skipped silently) and logs one summary
    line instead.

    Args:
        optim_wrapper_cfg (dict): As for
            :class:`DefaultOptimWrapperConstructor`.
        paramwise_cfg (dict, optional): As for
            :class:`DefaultOptimWrapperConstructor`. Defaults to None.
    """

    def add_params(self, params: List[dict], module: nn.Module,
                   prefix: str = '', **kwargs) -> None:
        """Add the trainable parameters of ``module`` to ``params``.

        Sub-modules without trainable parameters are skipped without a
        warning; the others follow the default ``paramwise_cfg`` rules.
        """
        if not _has_trainable(module):
            return
        super().add_params(params, module, prefix=prefix, **kwargs)

    def __call__(self, model: nn.Module) -> OptimWrapper:
        """Build the optim wrapper of ``model`` (or of its DDP wrapper)."""
        module = getattr(model, 'module', model)
        trainable = [p for p in module.parameters() if p.requires_grad]
        if not trainable:
            raise ValueError(f'{type(module).__name__} has no parameter with '
                             'requires_grad=True: there is nothing to train')
        frozen = [p for p in module.parameters() if not p.requires_grad]
        print_log(
            f'optimizer: {sum(p.numel() for p in trainable):,} trainable '
            f'parameters in {len(trainable)} tensors; {len(frozen)} frozen '
            f'tensors ({sum(p.numel() for p in frozen):,} parameters) left '
            'out', logger='current')

        optim_wrapper_cfg = self.optim_wrapper_cfg.copy()
        optim_wrapper_cfg.setdefault('type', 'OptimWrapper')
        optimizer_cfg = self.optimizer_cfg.copy()
        optimizer_cls = optimizer_cfg['type']
        if isinstance(optimizer_cls, str):
            with OPTIMIZERS.switch_scope_and_registry(None) as registry:
                optimizer_cls = registry.get(optimizer_cfg['type'])
        # Most optimizers call it `params`; some (HybridAdam) differ.
        first_arg = next(iter(inspect.signature(optimizer_cls).parameters))
        if self.paramwise_cfg:
            params: list = []
            self.add_params(params, module)
        else:
            params = trainable
        optimizer_cfg[first_arg] = params
        optimizer = OPTIMIZERS.build(optimizer_cfg)
        return OPTIM_WRAPPERS.build(
            optim_wrapper_cfg, default_args=dict(optimizer=optimizer))
