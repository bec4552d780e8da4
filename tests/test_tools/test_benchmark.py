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


#: The smallest run that still produces every figure: one timed round,
#: batch-1 inference, bf16 timed at its own batch (1) and checkpointing in
#: the main group (batch 2) with the batch-first blocks, one memory
#: subprocess, 4 pipeline faces.
ARGS = ['--quick', '--device', 'cpu', '--threads', '1', '--compile-backend',
        'eager', '--repeats', '1', '--warmup', '0', '--infer-batches', '1',
        '--amp-batch', '1', '--pipeline-images', '4', '--compare-batch-first',
        '--memory-variants', 'MPA-FER + checkpointing']


def test_quick_run_reports_every_figure(benchmark, tmp_path, capsys):
    out = tmp_path / 'bench.json'
    res = benchmark.main(ARGS + ['--out', str(out)])
    printed = capsys.readouterr().out
    saved = json.loads(out.read_text())
    assert saved['ratios'] == res['ratios']
    assert res['threads'] == 1 and res['load']['start'] and \
        res['load']['end']
    assert res['command'].endswith(
        "--memory-variants 'MPA-FER + checkpointing' --out " + str(out))

    assert set(res['inference']) == {'1'}
    infer = {'open_clip zero-shot', 'MPA-FER predict', 'ONNX fp32',
             'open_clip zero-shot at the prompted length',
             'ONNX int8', 'MPA-FER eager logits', 'MPA-FER compiled logits'}
    rows = res['inference']['1']
    assert set(rows) == infer
    for r in rows.values():
        assert 0 < r['min_s'] <= r['median_s'] <= r['max_s']
        assert r['ratio_min'] <= r['ratio'] <= r['ratio_max']
    assert rows['open_clip zero-shot']['ratio'] == pytest.approx(1.0)
    assert res['inference_vs_predict']['1']['MPA-FER predict'] == \
        pytest.approx(1.0)
    assert res['onnx_bytes']['ONNX int8'] < res['onnx_bytes']['ONNX fp32']

    # Methods and compile at the training batch, vs IVLP and vs MPA-FER.
    assert res['train_batch'] == 2
    assert set(res['train']) == {
        'MPA-FER', 'IVLP', 'CoOp', 'full fine-tuning (image tower)',
        'MPA-FER + checkpointing', 'MPA-FER compiled',
        'MPA-FER batch-first blocks'}
    assert res['train']['IVLP']['ratio'] == pytest.approx(1.0)
    assert res['train_vs_mpa']['MPA-FER'] == pytest.approx(1.0)
    assert all(r['median_s'] > 0 for r in res['train'].values())
    # bf16 in its own group, paired with MPA-FER at batch 1.
    modes = res['train_modes']
    assert set(modes) == {'MPA-FER + checkpointing', 'MPA-FER bf16 autocast',
                          'MPA-FER compiled', 'MPA-FER batch-first blocks'}
    assert modes['MPA-FER batch-first blocks']['batch'] == 2
    assert modes['MPA-FER bf16 autocast']['batch'] == 1
    assert modes['MPA-FER + checkpointing']['batch'] == 2
    assert modes['MPA-FER compiled']['batch'] == 2
    assert modes['MPA-FER bf16 autocast']['mpa_median_s'] > 0
    for name in ('inference (logits)', 'train_step'):
        g = res['graph_breaks'][name]
        assert g['graphs'] >= 1 and g['graph_breaks'] >= 0, name

    # Peak RSS measured in a fresh process (one, to stay short).
    mem = res['memory']
    assert mem['batch'] == 2
    assert set(mem['variants']) == {'MPA-FER + checkpointing'}
    m = mem['variants']['MPA-FER + checkpointing']
    assert m['peak_rss_bytes'] >= m['rss_after_build_bytes'] > 2**20
    assert m['step_rss_increase_bytes'] >= 0
    assert len(m['step_s']) == 1 and m['step_s'][0] > 0
    assert 'variants_mmap' not in mem

    params = res['params']
    assert params['MPA-FER']['trainable_params'] == \
        params['IVLP']['trainable_params'] > params['CoOp']['trainable_params']
    assert params['full fine-tuning (image tower)']['trainable_params'] > \
        10 * params['MPA-FER']['trainable_params']

    pipe = res['pipeline']
    assert pipe['pipeline_images'] == 4
    assert pipe['pipeline_images_per_s'] >= pipe['loader_images_per_s'] > 0

    ratios = res['ratios']
    measured = set(ratios) - {
        'checkpointing / none: peak RSS',
        'checkpointing / none: peak RSS, fixed mmap threshold',
        '--low-memory / none: peak RSS', '--low-memory / none: step time',
        'MPA-FER / IVLP step time, own processes'}
    assert all(ratios[k] > 0 for k in measured)
    # Only one memory variant ran: the RSS ratio is reported as missing
    # (its arithmetic is tested in tests/test_benchmark/test_report.py).
    assert ratios['checkpointing / none: peak RSS'] is None
    assert res['prompt_tokens'] == 8
    assert '(batch 1; 8 more tokens in every block, nothing else)' in printed
    assert ratios['--low-memory / none: peak RSS'] is None
    assert ratios['MPA-FER / IVLP step time, own processes'] is None
    assert 'checkpointing / none: peak RSS: not measured' in printed
    assert 'bf16 / fp32 train step: ' in printed and '(batch 1)' in printed
    # The ratios come first, then the tables.
    assert printed.index('Ratios (') < printed.index('| inference |')
    for header in ('| training step', '| execution mode',
                   '| peak memory, own process', '| model |',
                   'images/s', 'graph breaks', 'ONNX files'):
        assert header in printed
