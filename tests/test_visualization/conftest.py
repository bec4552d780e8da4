"""Fixtures of the visualisation tests (the world of ``test_apis``)."""
import os.path as osp
import sys

import pytest

sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.abspath(
    __file__))), 'test_apis'))
from mpa_world import get_model, get_world  # noqa: E402


@pytest.fixture(scope='session')
def vis_world(tmp_path_factory, tiny_clip_spec):
    """Data, a config on the tiny CLIP and (mis)matching checkpoints."""
    return get_world(tmp_path_factory, tiny_clip_spec)


@pytest.fixture(scope='session')
def vis_model(vis_world):
    """The world's model with its matching checkpoint loaded (eval)."""
    return get_model(vis_world)
