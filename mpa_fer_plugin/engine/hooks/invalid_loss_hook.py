"""Stop training on a non-finite loss (and never save non-finite weights)."""
import math
from typing import Any, Dict, Optional

import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpretrain.registry import HOOKS


class NonFiniteLossError(RuntimeError):
    """Training produced a NaN/inf loss or non-finite weights."""


def _scalar(value: Any) -> Optional[float]:
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            return None
        return float(value.detach().float().cpu())
    if isinstance(value, (int, float)):
        return float(value)
    return None


@HOOKS.register_module()
class MPAInvalidLossHook(Hook):
    """Raise :class:`NonFiniteLossError` as soon as a loss is NaN or inf.

    After every training iteration the loss terms the model returned
    (``outputs`` of ``train_step``: ``loss`` and every ``loss_*``) are
    checked; in distributed training the verdict is all-reduced so every
    rank stops at the same iteration. The error names the iteration, the
    value of each loss term, the current learning rate and the head's
    logit scale (the usual causes), and the last checkpoint that was saved
    (which is finite: the hook runs before ``CheckpointHook``). Before any
    checkpoint is written the model's floating-point state is checked too,
    so a checkpoint with NaN/inf weights is refused instead of saved (and
    ``last_checkpoint`` keeps pointing at the previous one).

    Registered by every config base (``default_hooks.invalid_loss``) and,
    if a config lacks it, by the plugin (``compat``); set
    ``default_hooks.invalid_loss=None`` to turn it off.

    Args:
        check_checkpoint (bool): Also refuse checkpoints with non-finite
            weights. Defaults to True.
    """

    priority = 'VERY_HIGH'

    def __init__(self, check_checkpoint: bool = True) -> None:
        self.check_checkpoint = check_checkpoint

    @staticmethod
    def _loss_terms(runner, outputs: Any) -> Dict[str, float]:
        terms: Dict[str, float] = {}
        if isinstance(outputs, dict):
            for key, value in outputs.items():
                if 'loss' in key:
                    val = _scalar(value)
                    if val is not None:
                        terms[key] = val
        if not terms:  # fall back to what the message hub logged
            for key, buf in runner.message_hub.log_scalars.items():
                if key.startswith('train/') and 'loss' in key:
                    terms[key[len('train/'):]] = float(buf.current())
        return terms

    @staticmethod
    def _causes(runner) -> str:
        parts = []
        try:
            lrs = runner.optim_wrapper.get_lr()
            lr = next(iter(lrs.values()))
            parts.append(f'the learning rate (now {lr[0]:.4g}, '
                         'optim_wrapper.optimizer.lr) is too high')
        except Exception:  # noqa: BLE001 - informative only
            parts.append('the learning rate is too high')
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        scale = getattr(getattr(model, 'head', None), 'logit_scale', None)
        if scale is not None:
            scale = _scalar(scale) if not isinstance(scale, float) else scale
            parts.append(f'the logit scale (now {scale:.4g}, '
                         'model.head.logit_scale) is too large and '
                         'overflows the softmax')
        else:
            parts.append('a logit scale / temperature is too large')
        parts.append('the data hold invalid values')
        return '; '.join(parts)

    def after_train_iter(self, runner, batch_idx: int,
                         data_batch: Any = None,
                         outputs: Optional[dict] = None) -> None:
        """Check the loss terms of this iteration."""
        terms = self._loss_terms(runner, outputs)
        bad = any(not math.isfinite(v) for v in terms.values())
        if get_world_size() > 1:
            flag = torch.tensor([float(bad)])
            all_reduce(flag, op='sum')
            bad = bool(flag.item() > 0)
        if not bad:
            return
        values = ', '.join(f'{k}={v:.6g}' for k, v in terms.items())
        if get_world_size() > 1:
            values += ' on this rank (another rank may be the non-finite one)'

        last = runner.message_hub.get_info('last_ckpt')
        msg = (f'non-finite loss at iteration {runner.iter + 1} (epoch '
               f'{runner.epoch + 1}, batch {batch_idx + 1}): '
               f'{values or "?"}. Training is stopped. Likely causes: '
               f'{self._causes(runner)}. '
               + (f'The last checkpoint saved is {last} (finite).'
                  if last else 'No checkpoint was saved.'))
        runner.logger.error(msg)
        raise NonFiniteLossError(msg)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Refuse to save non-finite weights."""
        if not self.check_checkpoint:
            return
        bad = [k for k, v in checkpoint.get('state_dict', {}).items()
               if isinstance(v, torch.Tensor) and v.is_floating_point()
               and not bool(torch.isfinite(v).all())]
        if bad:
            msg = (f'refusing to save a checkpoint at iteration '
                   f'{runner.iter} (epoch {runner.epoch + 1}): non-finite '
                   f'values in {bad[:5]}{" ..." if len(bad) > 5 else ""}. '
                   f'Training is stopped. Likely causes: '
                   f'{self._causes(runner)}.')
            runner.logger.error(msg)
            raise NonFiniteLossError(msg)
