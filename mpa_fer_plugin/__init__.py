"""MPA-FER as an OpenMMLab (mmpretrain) plugin.

``import mpa_fer_plugin`` (or ``custom_imports=dict(imports=[
'mpa_fer_plugin'])`` in a config) installs the compatibility shims of
:mod:`mpa_fer_plugin.utils.compat` and registers every component into
mmpretrain's registries.
"""
import importlib.util
import warnings

from .version import __version__

if importlib.util.find_spec('mmcv') is None:
    raise ImportError(
        'mpa_fer_plugin needs the `mmcv` package, which it does not install '
        'itself so that an existing (compiled) mmcv is never overwritten. '
        "Install the pure-Python build with "
        "`pip install 'mpa_fer_plugin[lite]'` "
        "(= `pip install 'mmcv-lite>=2.0,<2.4'`) or a full mmcv>=2.0,<2.4.")

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
