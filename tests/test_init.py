"""Package import: registration into mmpretrain and the OpenMMLab check."""
import importlib
import importlib.util
import sys

import pytest
from mmpretrain.registry import DATASETS, HOOKS, MODELS, TRANSFORMS

import mpa_fer_plugin


def test_components_registered_in_mmpretrain_registries():
    for name in ('MPAFERClassifier', 'MPAPromptedViT', 'MPAPromptHead',
                 'SoftHardAlignLoss', 'PrototypeAlignLoss'):
        assert MODELS.get(name) is not None, name
        assert MODELS.get(name).__module__.startswith('mpa_fer_plugin')
    for name in ('RAFDB', 'AffectNet', 'FERPlus'):
        assert DATASETS.get(name).__module__.startswith('mpa_fer_plugin')
    assert TRANSFORMS.get('LoadFERImage') is not None
    assert HOOKS.get('MPAClassNameCheckHook') is not None
    assert mpa_fer_plugin.__version__


@pytest.mark.parametrize('missing', ['mmcv', 'mmpretrain'])
def test_missing_openmmlab_package_is_a_clear_error(monkeypatch, missing):
    real_find_spec = importlib.util.find_spec

    def find_spec(name, *args, **kwargs):
        if name == missing:
            return None
        return real_find_spec(name, *args, **kwargs)

    saved = {k: v for k, v in sys.modules.items()
             if k == 'mpa_fer_plugin' or k.startswith('mpa_fer_plugin.')}
    monkeypatch.setattr(importlib.util, 'find_spec', find_spec)
    for key in saved:
        monkeypatch.delitem(sys.modules, key)
    try:
        with pytest.raises(ImportError, match=f'needs {missing},') as err:
            importlib.import_module('mpa_fer_plugin')
        # both stack sets are named
        assert "pip install 'mpa_fer_plugin[upstream]'" in str(err.value)
        assert "pip install 'mpa_fer_plugin[onedl]'" in str(err.value)
    finally:
        sys.modules.update(saved)


def test_mmcv_lite_warning_is_silenced():
    """mmcv-lite's "You should install mmcv" (MultiScaleDeformableAttention,
    a detection op) is not printed by ``import mpa_fer_plugin``."""
    import os
    import subprocess
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONWARNINGS'}
    proc = subprocess.run(
        [sys.executable, '-W', 'always', '-c', 'import mpa_fer_plugin'],
        capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert 'MultiScaleDeformableAttention' not in proc.stderr
    assert 'You should install' not in proc.stderr
