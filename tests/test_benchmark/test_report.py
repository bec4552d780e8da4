"""benchmark.report: headline ratios from the tables and their verdicts."""
import pytest

from mpa_fer_plugin.benchmark.report import (
    AT_LENGTH,
    LOW_MEMORY,
    LOW_MEMORY_RSS,
    LOW_MEMORY_TIME,
    MMAP_RATIO,
    OWN_PROCESS_TIME,
    TARGETS,
    format_report,
    headline,
    median_peak,
    process_step_ratio,
    target_ratios,
)


def _row(median, ratio):
    return dict(median_s=median, ratio=ratio, ratio_min=ratio,
                ratio_max=ratio, cpu_ratio=ratio, cpu_ratio_min=ratio,
                cpu_ratio_max=ratio, min_s=median, max_s=median,
                ratio_of_minima=ratio, cpu_median_s=median)


def _results(with_memory=True):
    inf = {'open_clip zero-shot': _row(1.0, 1.0),
           AT_LENGTH: _row(1.02, 1.02),
           'MPA-FER predict': _row(1.03, 1.03),
           'ONNX fp32': _row(0.8, 0.8), 'ONNX int8': _row(0.5, 0.5),
           'MPA-FER eager logits': _row(1.0, 1.0),
           'MPA-FER compiled logits': _row(0.9, 0.9)}
    vs_pred = {'open_clip zero-shot': 0.97, 'MPA-FER predict': 1.0,
               AT_LENGTH: 0.8,
               'ONNX fp32': 0.78, 'ONNX int8': 0.5,
               'MPA-FER eager logits': 1.0, 'MPA-FER compiled logits': 0.8}
    res = dict(
        arch='x', device='cpu', machine='m', torch='t', threads=1,
        date='d', load=dict(start='1', end='2'), train_batch=8,
        inference={'1': inf, '8': inf},
        inference_vs_predict={'1': vs_pred, '8': vs_pred},
        train={'MPA-FER': _row(6.0, 1.02), 'IVLP': _row(5.9, 1.0)},
        train_vs_mpa={'MPA-FER': 1.0, 'IVLP': 0.98,
                      'MPA-FER + checkpointing': 1.4,
                      'MPA-FER bf16 autocast': 9.0},
        train_modes={'MPA-FER + checkpointing': dict(
            _row(56.0, 1.4), batch=32, mpa_median_s=40.0),
            'MPA-FER bf16 autocast': dict(_row(18.0, 9.0), batch=2,
                                          mpa_median_s=2.0)},
        params={'MPA-FER': dict(trainable_params=1, checkpoint_bytes=2)},
        ratio_notes={})
    if with_memory:
        res['memory'] = dict(batch=32, steps=1, variants={
            'MPA-FER': dict(peak_rss_bytes=10 * 2**30,
                            rss_after_build_bytes=2**30,
                            step_rss_increase_bytes=9 * 2**30),
            'MPA-FER + checkpointing': dict(
                peak_rss_bytes=3 * 2**30, rss_after_build_bytes=2**30,
                step_rss_increase_bytes=2 * 2**30, step_s=[50.0, 44.0])})
    return res


def test_ratios_come_from_the_right_cells():
    res = _results()
    ratios = target_ratios(res)
    assert set(ratios) == set(TARGETS)
    assert ratios['predict / zero-shot'] == 1.03  # largest batch
    assert ratios['zero-shot at the prompted length / zero-shot'] == 1.02
    # The reciprocal of the paired (at length) / predict ratio.
    assert ratios['predict / zero-shot at the prompted length'] == \
        pytest.approx(1.25)
    assert ratios['MPA-FER / IVLP train step'] == 1.02
    assert ratios['checkpointing / none: peak RSS'] == pytest.approx(0.3)
    assert ratios['checkpointing / none: step time'] == 1.4
    assert ratios['bf16 / fp32 train step'] == 9.0
    assert ratios['compiled / eager inference'] == pytest.approx(0.8)
    assert ratios['ONNX int8 / predict'] == 0.5
    # Not run: no compiled training step, no fixed-threshold memory.
    assert ratios['compiled / eager train step'] is None
    assert ratios[MMAP_RATIO] is None


def test_headline_verdicts_and_missing_figures():
    res = _results(with_memory=False)
    res['ratios'] = target_ratios(res)
    lines = '\n'.join(headline(res))
    assert 'predict / zero-shot: 1.030  [<= 1.05: met]' in lines
    assert 'checkpointing / none: step time: 1.400  [<= 1.35: MISSED]' in \
        lines
    assert 'checkpointing / none: peak RSS: not measured' in lines
    assert 'compiled / eager train step: not measured' in lines


def test_report_has_the_mode_table_and_memory():
    res = _results()
    res['ratios'] = target_ratios(res)
    text = format_report(res)
    assert text.index('Ratios (') < text.index('| inference |')
    assert '| MPA-FER + checkpointing | 32 | 56.000 | 40.000 |' in text
    assert '| MPA-FER bf16 autocast | 2 |' in text
    assert '| MPA-FER + checkpointing | 3,072 | 1,024 | 2,048 | 44.00 |' \
        in text
    assert '| MPA-FER | 10,240 | 1,024 | 9,216 | nan |' in text
    assert 'checkpointing / none: peak RSS: 0.300  [<= 0.4: met]' in text


def test_demo_lines_without_amp_runs():
    res = _results()
    res['ratios'] = target_ratios(res)
    res['demo'] = dict(amp=dict(seeds=[0], fp32=dict(war=[40.0])), onnx={
        'int8_war_delta': -0.5, 'onnx fp32': dict(war=40.0),
        'onnx int8': dict(war=39.5), 'pytorch': dict(war=40.0),
        'int8_top1_agreement': 0.98, 'num_images': 2100})
    lines = '\n'.join(headline(res))
    assert 'bf16 - fp32 WAR' not in lines
    assert 'int8 - fp32 ONNX WAR: -0.50 points' in lines
    assert '[within 1 point: met]' in lines


def test_fixed_mmap_threshold_table_and_ratio():
    res = _results()
    mem = res['memory']
    mem['mmap_threshold'] = 131072
    mem['variants_mmap'] = {
        name: dict(m, peak_rss_bytes=m['peak_rss_bytes'] // 2)
        for name, m in mem['variants'].items()}
    mem['variants_mmap']['MPA-FER']['peak_rss_bytes'] = 8 * 2**30
    ratios = target_ratios(res)
    assert ratios[MMAP_RATIO] == pytest.approx(1.5 / 8)
    assert ratios['checkpointing / none: peak RSS'] == pytest.approx(0.3)
    res['ratios'] = ratios
    text = format_report(res)
    assert 'steps, MALLOC_MMAP_THRESHOLD_=131072) |' in text
    assert f'{MMAP_RATIO}: 0.188  [<= 0.4: met]' in text


def test_memory_only_results():
    full = _results()
    res = {k: full[k] for k in ('arch', 'device', 'machine', 'torch',
                                'threads', 'date', 'load', 'memory')}
    res.update(train_batch=8, ratio_notes={})
    ratios = target_ratios(res)
    assert ratios['predict / zero-shot'] is None
    assert ratios['MPA-FER / IVLP train step'] is None
    assert ratios['checkpointing / none: peak RSS'] == pytest.approx(0.3)
    res['ratios'] = ratios
    text = format_report(res)
    assert '| inference |' not in text and '| model |' not in text
    assert '| peak memory, own process' in text
    assert 'predict / zero-shot: not measured' in text


def test_low_memory_ratios_pair_rounds():
    res = _results()

    def proc(peak_gib, steps):
        return dict(peak_rss_bytes=int(peak_gib * 2**30),
                    rss_after_build_bytes=2**30, step_s=steps)
    base = [proc(10, [70.0, 40.0, 42.0]), proc(11, [60.0, 50.0])]
    low = [proc(3, [90.0, 48.0, 46.0]), proc(4, [99.0, 55.0])]
    mem = res['memory']
    mem['rounds'] = 2
    mem['variants']['MPA-FER'] = dict(base[0], rounds=base)
    mem['variants'][LOW_MEMORY] = dict(low[0], rounds=low)
    assert median_peak(mem['variants']['MPA-FER']) == 10.5 * 2**30
    assert median_peak(dict(peak_rss_bytes=5)) == 5  # results without rounds
    # Steps after the first of each process; round i paired with round i.
    assert process_step_ratio(mem['variants'][LOW_MEMORY],
                              mem['variants']['MPA-FER']) == \
        pytest.approx((47.0 / 41.0 + 55.0 / 50.0) / 2)
    ivlp = [proc(10, [60.0, 40.0, 40.0]), proc(11, [60.0, 40.0])]
    mem['variants']['IVLP'] = dict(ivlp[0], rounds=ivlp)
    ratios = target_ratios(res)
    # MPA-FER against IVLP in their own processes, paired the same way.
    assert ratios[OWN_PROCESS_TIME] == pytest.approx(
        (41.0 / 40.0 + 50.0 / 40.0) / 2)
    assert ratios[LOW_MEMORY_RSS] == pytest.approx(3.5 / 10.5)
    assert ratios[LOW_MEMORY_TIME] == pytest.approx(
        (47.0 / 41.0 + 55.0 / 50.0) / 2)
    # Checkpointing's own RSS ratio now uses the median baseline.
    assert ratios['checkpointing / none: peak RSS'] == pytest.approx(
        3 / 10.5)
    res['ratios'] = ratios
    text = format_report(res)
    assert f'{LOW_MEMORY_RSS}: 0.333  [<= 0.4: met]' in text
    assert f'{LOW_MEMORY_TIME}: 1.123  [<= 1.35: met]' in text
    assert '2 rounds: median, min-max) |' in text
    assert '| MPA-FER | 10,752 (10,240-11,264) |' in text
