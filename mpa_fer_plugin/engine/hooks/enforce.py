"""Hooks the plugin adds to every Runner (see ``utils/compat.py``, 7)."""
from typing import Any, Optional

from mmengine.model import is_model_wrapper

#: ``default_hooks`` keys of the plugin's hooks that ``None`` turns off.
PLUGIN_DEFAULT_HOOKS = ('invalid_loss', 'data_seed', 'model_card')


def _has(runner, cls) -> bool:
    return any(isinstance(hook, cls) for hook in runner.hooks)


def _has_classnames(model) -> bool:
    if is_model_wrapper(model):
        model = model.module
    return any(getattr(m, 'classnames', None) is not None
               for m in model.modules())


def ensure_plugin_hooks(runner, default_hooks: Optional[Any] = None) -> list:
    """Register the plugin's safety hooks that a config did not register.

    * :class:`MPAClassNameCheckHook` whenever a module of the model has
      ``classnames`` (no config can turn it off);
    * :class:`MPAInvalidLossHook` and :class:`MPADataSeedHook` unless
      ``default_hooks`` sets ``invalid_loss`` / ``data_seed`` to ``None``
      explicitly;
    * :class:`MPAModelCardHook` (the model card in every checkpoint) for
      models with ``classnames``, unless ``default_hooks.model_card`` is
      ``None``.

    Args:
        runner (Runner): The runner, after its own hooks are registered.
        default_hooks (dict, optional): The ``default_hooks`` it was built
            with.

    Returns:
        list[str]: Names of the hooks added.
    """
    from .class_name_check_hook import MPAClassNameCheckHook
    from .data_seed_hook import MPADataSeedHook
    from .invalid_loss_hook import MPAInvalidLossHook
    from .model_card_hook import MPAModelCardHook

    given = dict(default_hooks or {})
    added = []
    for key, cls in zip(PLUGIN_DEFAULT_HOOKS,
                        (MPAInvalidLossHook, MPADataSeedHook)):
        if key in given and given[key] is None:
            continue
        if not _has(runner, cls):
            runner.register_hook(cls())
            added.append(cls.__name__)
    if _has_classnames(runner.model) and not _has(runner,
                                                  MPAClassNameCheckHook):
        runner.register_hook(MPAClassNameCheckHook())
        added.append(MPAClassNameCheckHook.__name__)
    if _has_classnames(runner.model) and not _has(runner, MPAModelCardHook) \
            and not ('model_card' in given and given['model_card'] is None):
        runner.register_hook(MPAModelCardHook())
        added.append(MPAModelCardHook.__name__)
    if added:
        runner.logger.info(f'mpa_fer_plugin added hooks the config lacks: '
                           f'{", ".join(added)}')
    return added
