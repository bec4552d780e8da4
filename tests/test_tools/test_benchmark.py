"""tools/analysis_tools/benchmark.py --quick runs and reports every figure.

No timing is asserted: the test checks that each measurement is present
and sane (positive times, ratios, memory and sizes), not how fast it is.
"""
import importlib.util
import json
import os.path as osp

import pytest

ROOT = osp.join(osp.dirname(__file__), '..', '..')


@pytest.fixture(scope='module')
def benchmark():
    path = osp.join(ROOT, 'tools', 'analysis_tools', 'benchmark.py')
    spec = importlib.util.spec_from_file_location('benchmark', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quick_run_reports_every_figure(benchmark, tmp_path, capsys):
    out = tmp_path / 'bench.json'
    res = benchmark.main(['--quick', '--device', 'cpu', '--out', str(out)])
    printed = capsys.readouterr().out
    assert json.loads(out.read_text())['targets'] == res['targets']

    assert set(res['inference']) == {'1', '2'}
    for rows in res['inference'].values():
        assert set(rows) == {'open_clip zero-shot', 'MPA-FER predict'}
        for r in rows.values():
            assert 0 < r['min_s'] <= r['median_s'] <= r['max_s']
            assert r['ratio_min'] <= r['ratio'] <= r['ratio_max']
            assert r['ratio_of_minima'] > 0
            assert r['cpu_median_s'] > 0
            assert r['cpu_ratio_min'] <= r['cpu_ratio'] <= r['cpu_ratio_max']
        assert rows['open_clip zero-shot']['ratio'] == pytest.approx(1.0)

    variants = {'MPA-FER', 'IVLP', 'CoOp', 'full fine-tuning (image tower)'}
    assert set(res['train']) == variants
    assert res['train']['IVLP']['ratio'] == pytest.approx(1.0)
    assert all(r['median_s'] > 0 for r in res['train'].values())
    assert set(res['memory']) == variants
    for name, mem in res['memory'].items():
        assert mem['saved_activation_bytes'] > 0, name
        assert mem['grad_bytes'] > 0, name
        # SGD with momentum keeps one buffer per trainable parameter.
        assert mem['optimizer_state_bytes'] == mem['grad_bytes'], name
        assert mem['estimated_peak_bytes'] == sum(
            mem[k] for k in ('weight_bytes', 'saved_activation_bytes',
                             'grad_bytes', 'optimizer_state_bytes')), name
    mem = res['memory']
    # Full fine-tuning trains the whole image tower: far more gradients.
    assert mem['full fine-tuning (image tower)']['grad_bytes'] > \
        10 * mem['MPA-FER']['grad_bytes']

    params = res['params']
    assert set(params) == variants
    # MPA-FER and IVLP train the same prompts; CoOp only the text context.
    assert params['MPA-FER']['trainable_params'] == \
        params['IVLP']['trainable_params'] > params['CoOp']['trainable_params']
    for c in params.values():
        assert c['trainable_fp32_bytes'] == 4 * c['trainable_params']
        assert c['checkpoint_bytes'] > c['trainable_fp32_bytes']

    pipe = res['pipeline']
    assert pipe['pipeline_images'] == 16
    assert pipe['pipeline_images_per_s'] >= pipe['loader_images_per_s'] > 0

    assert res['targets']['infer_batch'] == 2
    for header in ('| inference |', '| training step (batch 2) |',
                   '| model | trainable params |', 'images/s', 'Targets ('):
        assert header in printed
