"""mpa_fer_plugin.demo.world: the demo world is reused only if verified."""
import pytest

from mpa_fer_plugin.datasets.synthetic import MANIFEST
from mpa_fer_plugin.demo.world import ensure_world

KW = dict(num_train=7, num_test=7, size=32, seed=0)


def test_reuses_only_a_verified_world(tmp_path):
    root = str(tmp_path / 'w')
    ensure_world(root, **KW)
    label = tmp_path / 'w' / 'EmoLabel' / 'list_patition_label.txt'
    stamp = label.stat().st_mtime_ns
    ensure_world(root, **KW)  # verified: reused as is
    assert label.stat().st_mtime_ns == stamp
    # A tampered label file fails verification and is regenerated.
    label.write_text(label.read_text().replace(' 1\n', ' 2\n', 1))
    manifest = ensure_world(root, **KW)
    assert manifest['counts']['train'] == [1] * 7
    # Another requested size: regenerated to the new size.
    assert ensure_world(root, **dict(KW, num_test=14))['num_test'] == 14


def test_refuses_a_foreign_folder(tmp_path):
    (tmp_path / 'precious.txt').write_text('not generated')
    with pytest.raises(FileExistsError, match=MANIFEST):
        ensure_world(str(tmp_path), **KW)
    assert (tmp_path / 'precious.txt').exists()
