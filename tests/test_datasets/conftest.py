"""Dataset-test fixtures (the tree writers live in tests/fer_trees.py)."""
import pytest

from mpa_fer_plugin.datasets.synthetic import generate_synthetic_fer


@pytest.fixture(scope='session')
def synthetic_root(tmp_path_factory) -> str:
    """A 7-class synthetic RAF-DB tree shared by several tests."""
    root = str(tmp_path_factory.mktemp('synthetic_fer'))
    generate_synthetic_fer(root, num_train=700, num_test=280, seed=0)
    return root
