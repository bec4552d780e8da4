"""Fixtures of the inference API tests (see ``mpa_world.py``)."""
import pytest
from mpa_world import get_model, get_world


@pytest.fixture(scope='session')
def infer_world(tmp_path_factory, tiny_clip_spec):
    """Data, a config on the tiny CLIP and (mis)matching checkpoints."""
    return get_world(tmp_path_factory, tiny_clip_spec)


@pytest.fixture(scope='session')
def infer_model(infer_world):
    """The world's model with its matching checkpoint loaded (eval)."""
    return get_model(infer_world)
