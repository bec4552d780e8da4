"""tools/analysis_tools/benchmark.py --quick runs and reports every figure.

No timing is asserted: the test checks that each measurement is present
and sane (positive times, ratios, memory measured in its own process and
sizes), not how fast it is. torch.compile runs with the ``eager`` backend
(dynamo tracing without code generation) to stay fast.
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
    res = benchmark.main(['--quick', '--device', 'cpu', '--threads', '1',
                          '--compile-backend', 'eager', '--out', str(out)])
    printed = capsys.readouterr().out
    saved = json.loads(out.read_text())
    assert saved['ratios'] == res['ratios']
    assert res['threads'] == 1 and res['load']['start'] and \
        res['load']['end']

    assert set(res['inference']) == {'1', '2'}
    infer = {'open_clip zero-shot', 'MPA-FER predict', 'ONNX fp32',
             'ONNX int8', 'MPA-FER eager logits', 'MPA-FER compiled logits'}
    for b, rows in res['inference'].items():
        assert set(rows) == infer
        for r in rows.values():
            assert 0 < r['min_s'] <= r['median_s'] <= r['max_s']
            assert r['ratio_min'] <= r['ratio'] <= r['ratio_max']
            assert r['cpu_ratio_min'] <= r['cpu_ratio'] <= r['cpu_ratio_max']
        assert rows['open_clip zero-shot']['ratio'] == pytest.approx(1.0)
        assert res['inference_vs_predict'][b]['MPA-FER predict'] == \
            pytest.approx(1.0)
    assert res['onnx_bytes']['ONNX int8'] < res['onnx_bytes']['ONNX fp32']

    variants = {'MPA-FER', 'IVLP', 'CoOp', 'full fine-tuning (image tower)',
                'MPA-FER + checkpointing', 'MPA-FER bf16 autocast',
                'MPA-FER compiled'}
    assert set(res['train']) == variants
    assert res['train']['IVLP']['ratio'] == pytest.approx(1.0)
    assert res['train_vs_mpa']['MPA-FER'] == pytest.approx(1.0)
    assert all(r['median_s'] > 0 for r in res['train'].values())
    for name in ('inference (logits)', 'train_step'):
        g = res['graph_breaks'][name]
        assert g['graphs'] >= 1 and g['graph_breaks'] >= 0, name

    # Peak RSS measured in a fresh process per variant.
    mem = res['memory']
    assert mem['batch'] == 2
    assert set(mem['variants']) == {'MPA-FER', 'MPA-FER + checkpointing'}
    for m in mem['variants'].values():
        assert m['peak_rss_bytes'] >= m['rss_after_build_bytes'] > 2**20
        assert m['step_rss_increase_bytes'] >= 0

    params = res['params']
    assert params['MPA-FER']['trainable_params'] == \
        params['IVLP']['trainable_params'] > params['CoOp']['trainable_params']
    assert params['full fine-tuning (image tower)']['trainable_params'] > \
        10 * params['MPA-FER']['trainable_params']

    pipe = res['pipeline']
    assert pipe['pipeline_images'] == 16
    assert pipe['pipeline_images_per_s'] >= pipe['loader_images_per_s'] > 0

    ratios = res['ratios']
    assert set(ratios) == {
        'predict / zero-shot', 'MPA-FER / IVLP train step',
        'checkpointing / none: peak RSS', 'checkpointing / none: step time',
        'bf16 / fp32 train step', 'compiled / eager train step',
        'compiled / eager inference', 'ONNX fp32 / predict',
        'ONNX int8 / predict'}
    assert all(v > 0 for v in ratios.values())
    # The ratios come first, then the tables.
    assert printed.index('Ratios (') < printed.index('| inference |')
    for header in ('checkpointing / none: peak RSS', '| training step',
                   '| peak memory, own process', '| model |',
                   'images/s', 'graph breaks', 'ONNX files'):
        assert header in printed
