"""Check that the prompt head's class names match the dataset's classes."""
from typing import Optional, Sequence

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpretrain.registry import HOOKS


@HOOKS.register_module()
class MPAClassNameCheckHook(Hook):
    """Stop a run whose head class names differ from the dataset's classes.

    For a prompt head the class names are text: a dataset whose
    ``metainfo['classes']`` lists the same number of classes in another
    order (RAF-DB's native order vs. the canonical one) would train and
    evaluate silently wrong. Before training, validation and testing this
    hook compares, name by name and in order, the ``classnames`` of every
    module of the model that has them (``MPAPromptHead``) with the classes
    of the dataset of that stage, and raises ``ValueError`` naming both
    lists if they differ. Datasets without class information are skipped
    with a warning. Before testing, the class names stored in the loaded
    checkpoint (``meta['dataset_meta']['classes']``, written by mmengine
    from the training dataset) must equal the head's too: a checkpoint
    trained with another class order is refused (``tools/test.py``).

    The plugin registers this hook on every Runner whose model has class
    names, even if a config replaces ``custom_hooks``
    (:func:`~mpa_fer_plugin.engine.hooks.ensure_plugin_hooks`).

    Args:
        strict_case (bool): Compare names case-sensitively. With False,
            ``'happiness'`` matches ``'Happiness'`` (both give the same
            prompt text, as CLIP's tokenizer lower-cases). Defaults to True.
    """

    priority = 'VERY_HIGH'

    def __init__(self, strict_case: bool = True) -> None:
        self.strict_case = strict_case
        self._ckpt_classes: Optional[tuple] = None
        self._ckpt_name: Optional[str] = None

    def _names(self, names: Sequence[str]) -> tuple:
        names = tuple(str(n).strip() for n in names)
        return names if self.strict_case else tuple(
            n.lower() for n in names)

    def check(self, model, dataset, stage: str,
              logger: Optional[object] = None) -> None:
        """Compare the class names of ``model`` with those of ``dataset``.

        Args:
            model (nn.Module): The (possibly wrapped) model.
            dataset: A dataset with ``metainfo``.
            stage (str): ``'train'``, ``'val'`` or ``'test'``, for messages.
            logger (optional): Logger for the warning about missing classes.
        """
        if is_model_wrapper(model):
            model = model.module
        metainfo = getattr(dataset, 'metainfo', None) or {}
        classes = metainfo.get('classes')
        if classes is None:
            if logger is not None:
                logger.warning(
                    f'the {stage} dataset {type(dataset).__name__} has no '
                    "metainfo['classes']; class names are not checked")
            return
        for name, module in model.named_modules():
            head_names = getattr(module, 'classnames', None)
            if head_names is None:
                continue
            if self._names(head_names) != self._names(classes):
                raise ValueError(
                    f'the class names of {type(module).__name__} '
                    f'({name or "model"}) {tuple(head_names)} differ from '
                    f"the {stage} dataset's metainfo['classes'] "
                    f'{tuple(classes)} ({type(dataset).__name__}); use the '
                    'same tuple from mpa_fer_plugin.datasets.categories in '
                    'both')

    def _check(self, runner, loader_attr: str, stage: str) -> None:
        loader = getattr(runner, loader_attr)
        dataset = getattr(loader, 'dataset', None)
        if dataset is None and isinstance(loader, dict):
            dataset = loader.get('dataset')
        if dataset is None or isinstance(dataset, dict):
            runner.logger.warning(f'{type(self).__name__}: no built {stage} '
                                  'dataset to check')
            return
        self.check(runner.model, dataset, stage, runner.logger)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Remember the class names stored in a loaded checkpoint."""
        meta = checkpoint.get('meta') or {}
        classes = (meta.get('dataset_meta') or {}).get('classes')
        self._ckpt_classes = tuple(classes) if classes is not None else None
        self._ckpt_name = meta.get('experiment_name')

    def check_checkpoint(self, model) -> None:
        """Compare the loaded checkpoint's class names with the model's."""
        if self._ckpt_classes is None:
            return
        if is_model_wrapper(model):
            model = model.module
        for name, module in model.named_modules():
            head_names = getattr(module, 'classnames', None)
            if head_names is None:
                continue
            if self._names(head_names) != self._names(self._ckpt_classes):
                raise ValueError(
                    f'the checkpoint (run {self._ckpt_name}) was trained on '
                    f'classes {self._ckpt_classes}, but '
                    f'{type(module).__name__} ({name or "model"}) of this '
                    f'config has classnames {tuple(head_names)}; its scores '
                    'would be read under the wrong labels. Use the config '
                    'the checkpoint was trained with')

    def before_train(self, runner) -> None:
        """Check the training dataset."""
        self._check(runner, 'train_dataloader', 'train')

    def before_val(self, runner) -> None:
        """Check the validation dataset."""
        self._check(runner, 'val_dataloader', 'val')

    def before_test(self, runner) -> None:
        """Check the loaded checkpoint and the test dataset."""
        self.check_checkpoint(runner.model)
        self._check(runner, 'test_dataloader', 'test')
