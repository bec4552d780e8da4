"""Mixed-precision optim wrapper that also runs on CPU (bfloat16)."""
from contextlib import contextmanager
from typing import Optional, Union

import torch
import torch.nn as nn
from mmengine.device import get_device
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from mmengine.runner.amp import autocast
from mmpretrain.registry import OPTIM_WRAPPERS

_DTYPES = {'float16': torch.float16, 'bfloat16': torch.bfloat16}


@OPTIM_WRAPPERS.register_module()
class MPAAmpOptimWrapper(AmpOptimWrapper):
    """mmengine's :class:`AmpOptimWrapper`, usable on CPU with bfloat16.

    mmengine's wrapper asserts an accelerator. This one picks the mode from
    the device (``mmengine.device.get_device()`` unless ``device`` is
    given):

    * **CPU**: ``torch.autocast('cpu', dtype=torch.bfloat16)`` around the
      forward pass and no loss scaling (bfloat16 has float32's exponent
      range, so gradients do not underflow); ``loss_scale`` is ignored.
      Only bfloat16 is accepted (CPU autocast has no float16).
    * **accelerator** (CUDA, NPU, MLU, MUSA): exactly
      :class:`AmpOptimWrapper` — autocast (float16 unless ``dtype`` says
      otherwise) and mmengine's ``GradScaler`` with ``loss_scale``
      (``'dynamic'`` by default), which unscales before gradient clipping.

    Autocast only changes the dtype of op outputs inside the forward pass:
    parameters, buffers (class prototypes, hard-prompt features) and the
    optimizer state stay float32, no module is cast with ``.half()``, and
    the head's eval-mode text-feature cache is filled outside the training
    step (float32). ``tools/train.py --amp`` selects this wrapper.

    Args:
        loss_scale (float | str | dict): ``GradScaler`` configuration on an
            accelerator (see :class:`AmpOptimWrapper`); unused on CPU.
            Defaults to ``'dynamic'``.
        dtype (str | torch.dtype, optional): Autocast dtype; None is
            bfloat16 on CPU and the accelerator's default (float16) else.
            Defaults to None.
        device (str, optional): ``'cpu'``, ``'cuda'``, ...; None uses
            ``get_device()``. Defaults to None.
        use_fsdp (bool): ``ShardedGradScaler`` (accelerators only).
            Defaults to False.
        **kwargs: Passed to :class:`OptimWrapper` (``optimizer``,
            ``clip_grad``, ``accumulative_counts``).
    """

    def __init__(self,
                 loss_scale: Union[float, str, dict] = 'dynamic',
                 dtype: Optional[Union[str, torch.dtype]] = None,
                 device: Optional[str] = None,
                 use_fsdp: bool = False,
                 **kwargs) -> None:
        self.device_type = device or get_device()
        if isinstance(dtype, str):
            if dtype not in _DTYPES:
                raise ValueError(f'dtype={dtype!r} must be one of '
                                 f'{tuple(_DTYPES)}')
            dtype = _DTYPES[dtype]
        if self.device_type != 'cpu':
            super().__init__(loss_scale=loss_scale, dtype=dtype,
                             use_fsdp=use_fsdp, **kwargs)
            return
        if dtype not in (None, torch.bfloat16):
            raise ValueError(f'dtype={dtype} is not supported on CPU: CPU '
                             'autocast runs in torch.bfloat16')
        OptimWrapper.__init__(self, **kwargs)
        self._scale_update_param = None
        self.loss_scaler = None
        self.cast_dtype = torch.bfloat16

    def backward(self, loss: torch.Tensor, **kwargs) -> None:
        """Back-propagate (through the loss scaler on an accelerator)."""
        if self.loss_scaler is not None:
            return super().backward(loss, **kwargs)
        loss.backward(**kwargs)
        self._inner_count += 1

    def step(self, **kwargs) -> None:
        """Clip gradients if configured, then step the optimizer."""
        if self.loss_scaler is not None:
            return super().step(**kwargs)
        if self.clip_grad_kwargs:
            self._clip_grad()
        self.optimizer.step(**kwargs)

    def state_dict(self) -> dict:
        """The optimizer state (plus the loss scaler's when it has one)."""
        if self.loss_scaler is not None:
            return super().state_dict()
        return OptimWrapper.state_dict(self)

    def load_state_dict(self, state_dict: dict) -> None:
        """Load a state; a saved loss scaler is dropped on CPU.

        So a run resumed on CPU can continue from a GPU fp16 checkpoint.
        """
        if self.loss_scaler is not None:
            return super().load_state_dict(state_dict)
        state_dict = dict(state_dict)
        state_dict.pop('loss_scaler', None)
        OptimWrapper.load_state_dict(self, state_dict)

    @contextmanager
    def optim_context(self, model: nn.Module):
        """Gradient-accumulation context plus autocast on this device."""
        with OptimWrapper.optim_context(self, model), autocast(
                device_type=self.device_type, dtype=self.cast_dtype):
            yield
