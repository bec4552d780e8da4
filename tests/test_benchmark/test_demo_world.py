"""benchmark.demo_world: the paired summary and the CLIP fingerprint.

The training/ONNX paths run the real tools on the demo world (minutes);
they are exercised by the benchmark run itself, not here.
"""
import hashlib
import math

import pytest

from mpa_fer_plugin.benchmark.demo_world import paired_summary, sha256


def test_paired_summary_by_hand():
    res = paired_summary([40.0, 42.0, 41.0], [41.0, 42.5, 41.5])
    assert res['n'] == 3 and res['diffs'] == [1.0, 0.5, 0.5]
    assert res['mean_diff'] == pytest.approx(2 / 3)
    # t(0.975, 2) * sd / sqrt(3), sd = sqrt(1/12)
    half = 4.303 * math.sqrt(1 / 12) / math.sqrt(3)
    assert res['ci95'] == pytest.approx((2 / 3 - half, 2 / 3 + half))


def test_one_seed_has_no_interval():
    res = paired_summary([40.0], [39.0])
    assert res['mean_diff'] == -1.0
    assert all(math.isnan(v) for v in res['ci95'])


def test_sha256(tmp_path):
    path = tmp_path / 'w.bin'
    path.write_bytes(b'abc' * 1000)
    assert sha256(str(path)) == hashlib.sha256(b'abc' * 1000).hexdigest()
