"""MPA-FER as an OpenMMLab (mmpretrain) plugin.

``import mpa_fer_plugin`` (or ``custom_imports=dict(imports=[
'mpa_fer_plugin'])`` in a config) installs the compatibility shims of
:mod:`mpa_fer_plugin.utils.compat` and registers every component into
mmpretrain's registries.
"""
import importlib.util
import warnings

from .version import __version__

_MISSING = [name for name in ('mmengine', 'mmcv', 'mmpretrain')
            if importlib.util.find_spec(name) is None]
if _MISSING:
    raise ImportError(
        f'mpa_fer_plugin needs {", ".join(_MISSING)}, which it does not '
        'install itself: the upstream OpenMMLab releases and the maintained '
        'onedl forks install the same packages under different names, and '
        'requiring one would overwrite the other (or a compiled mmcv). '
        "Install one set: `pip install 'mpa_fer_plugin[upstream]'` "
        '(mmengine, mmcv-lite, mmpretrain) or '
        "`pip install 'mpa_fer_plugin[onedl]'` (onedl-mmengine, onedl-mmcv, "
        'onedl-mmpretrain); the tested pins are requirements/upstream.txt '
        'and requirements/onedl.txt.')

# With mmcv-lite (no compiled ops) mmcv.cnn.bricks.transformer, imported by
# mmpretrain, warns "Fail to import MultiScaleDeformableAttention ... You
# should install mmcv rather than mmcv-lite". That op is a detection op no
# part of this plugin uses: mmcv-lite is enough here, so the warning is
# silenced (README "Install" says so).
warnings.filterwarnings(
    'ignore', message='Fail to import ``MultiScaleDeformableAttention``',
    category=UserWarning)

from . import (  # noqa: E402,F401,E501
    apis,
    datasets,
    engine,
    evaluation,
    models,
    prompts,
    visualization,
)
from .utils import compat  # noqa: E402,F401  (applies the shims)

__all__ = ['__version__']
