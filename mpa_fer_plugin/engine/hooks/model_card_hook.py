"""Write the model card into every checkpoint the Runner saves."""
from typing import Dict, Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpretrain.registry import HOOKS


@HOOKS.register_module()
class MPAModelCardHook(Hook):
    """Store a model card in ``checkpoint['meta']['model_card']``.

    The card (:func:`mpa_fer_plugin.apis.model_card.build_model_card`)
    says what the checkpoint was trained on: dataset, split and image
    domain (from the config's ``model_card`` dict, set by the dataset
    configs), classes in label order, crop geometry, base CLIP, which
    checkpoint of the run it is (``save_best``) and the latest validation
    metrics with the split and epoch they were measured on. Enabled by
    ``default_hooks.model_card`` in ``configs/_base_/default_runtime.py``.

    Args:
        kind (str): The card's kind. Defaults to ``'prompt-tuned'``.
    """

    priority = 'NORMAL'  # before CheckpointHook (VERY_LOW) saves the best

    def __init__(self, kind: str = 'prompt-tuned') -> None:
        self.kind = kind
        self.metrics: Optional[Dict[str, float]] = None
        self.metrics_epoch: Optional[int] = None

    def after_val_epoch(self, runner, metrics=None) -> None:
        """Remember the validation metrics for the next save."""
        if metrics:
            self.metrics = dict(metrics)
            self.metrics_epoch = runner.epoch

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Add the card to the checkpoint's ``meta``."""
        from mpa_fer_plugin.apis.model_card import build_model_card
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        card = build_model_card(runner.cfg, model, kind=self.kind,
                                metrics=self.metrics,
                                epoch=self.metrics_epoch)
        meta = checkpoint.setdefault('meta', {})
        card['epoch'] = meta.get('epoch', runner.epoch)  # epochs done
        meta['model_card'] = card
