"""Render the benchmark results: the target ratios first, then the tables."""
import statistics
from typing import Dict, List, Optional

#: The RSS ratio measured with ``MALLOC_MMAP_THRESHOLD_`` set.
MMAP_RATIO = 'checkpointing / none: peak RSS, fixed mmap threshold'
#: The memory variant run as ``tools/train.py --low-memory`` runs.
LOW_MEMORY = 'MPA-FER --low-memory'
#: Its ratios to plain MPA-FER (own processes, default allocator).
LOW_MEMORY_RSS = '--low-memory / none: peak RSS'
LOW_MEMORY_TIME = '--low-memory / none: step time'
#: MPA-FER against IVLP, each training in its own process (memory runs).
OWN_PROCESS_TIME = 'MPA-FER / IVLP step time, own processes'
#: Open_clip zero-shot with as many more tokens as the model has prompts.
AT_LENGTH = 'open_clip zero-shot at the prompted length'
#: MPA-FER's blocks batch first (``backbone.seq_first=False``).
BATCH_FIRST = 'MPA-FER batch-first blocks'
SEQ_FIRST_RATIO = 'sequence-first / batch-first train step'
#: Target ratios of the performance checks (``<=``); None: reported, no target.
TARGETS = {
    'predict / zero-shot': 1.05,
    'zero-shot at the prompted length / zero-shot': None,
    'predict / zero-shot at the prompted length': None,
    'MPA-FER / IVLP train step': 1.05,
    OWN_PROCESS_TIME: 1.05,
    'checkpointing / none: peak RSS': 0.4,
    'checkpointing / none: peak RSS, fixed mmap threshold': 0.4,
    'checkpointing / none: step time': 1.35,
    LOW_MEMORY_RSS: 0.4,
    LOW_MEMORY_TIME: 1.35,
    'bf16 / fp32 train step': None,
    'compiled / eager train step': None,
    SEQ_FIRST_RATIO: None,
    'compiled / eager inference': None,
    'ONNX fp32 / predict': None,
    'ONNX int8 / predict': None,
}


def median_peak(entry: dict) -> float:
    """Median peak RSS (bytes) of a memory variant over its rounds."""
    rounds = entry.get('rounds') or [entry]
    return statistics.median(r['peak_rss_bytes'] for r in rounds)


def _steady_step(m: dict) -> float:
    steps = m.get('step_s') or [float('nan')]
    return statistics.median(steps[1:] if len(steps) > 1 else steps)


def process_step_ratio(entry: dict, base: dict) -> Optional[float]:
    """Median over rounds of the step-time ratio of two memory variants.

    Each process's step time is the median of its steps after the first
    (the only one when it ran one); round ``i`` of ``entry`` is paired with
    round ``i`` of ``base``.
    """
    pairs = list(zip(entry.get('rounds') or [entry],
                     base.get('rounds') or [base]))
    if not pairs:
        return None
    return statistics.median(_steady_step(a) / _steady_step(b)
                             for a, b in pairs)


def _mib(n: float) -> str:
    return f'{n / 2**20:,.0f}'


def _ratio(r: dict) -> str:
    return (f'{r["ratio"]:.3f} ({r["ratio_min"]:.3f}-{r["ratio_max"]:.3f})'
            f'; CPU time {r["cpu_ratio"]:.3f}')


def headline(res: dict) -> List[str]:
    """The ratios of the issue, one line each, with their targets."""
    lines = [f'Ratios (median of paired per-round wall-clock ratios, '
             f'min-max over rounds; {res["threads"]} threads, load '
             f'{res["load"]["start"]} -> {res["load"]["end"]}):']
    for name, value in res['ratios'].items():
        if value is None:
            lines.append(f'  {name}: not measured')
            continue
        limit = TARGETS.get(name)
        shown = f'{value:.3f}' if isinstance(value, float) else str(value)
        extra = res['ratio_notes'].get(name, '')
        verdict = '' if limit is None else (
            f'  [<= {limit}: {"met" if value <= limit else "MISSED"}]')
        lines.append(f'  {name}: {shown}{verdict}{extra}')
    demo = res.get('demo')
    if demo:
        amp, onnx = demo['amp'], demo['onnx']
        w = amp.get('war_diff')
        if w:
            lines.append(
                f'  demo world, bf16 - fp32 WAR over seeds {amp["seeds"]}: '
                f'{w["mean_diff"]:+.2f} points (95 % CI '
                f'{w["ci95"][0]:+.2f} to {w["ci95"][1]:+.2f})')
        lines.append(
            f'  demo world, int8 - fp32 ONNX WAR: '
            f'{onnx["int8_war_delta"]:+.2f} points (fp32 '
            f'{onnx["onnx fp32"]["war"]:.2f}, int8 '
            f'{onnx["onnx int8"]["war"]:.2f}, PyTorch '
            f'{onnx["pytorch"]["war"]:.2f}; same class on '
            f'{100 * onnx["int8_top1_agreement"]:.1f} % of '
            f'{onnx["num_images"]} faces) [within 1 point: '
            f'{"met" if abs(onnx["int8_war_delta"]) <= 1 else "MISSED"}]')
    return lines


def _memory_table(mem: dict, key: str) -> List[str]:
    variants = mem[key]
    cuda = any('cuda_peak_bytes' in m for m in variants.values())
    how = '' if key == 'variants' else (
        f', MALLOC_MMAP_THRESHOLD_={mem["mmap_threshold"]}')
    rounds = mem.get('rounds', 1)
    per = '' if rounds == 1 else f', {rounds} rounds: median, min-max'
    lines = ['', f'| peak memory, own process (batch {mem["batch"]}, '
             f'{mem["steps"]} steps{how}{per}) | peak RSS MiB | RSS after '
             'build MiB | step increase MiB | last step s |' + (
                 ' CUDA peak MiB |' if cuda else ''),
             '|---|---|---|---|---|' + ('---|' if cuda else '')]
    for name, m in variants.items():
        step = m.get('step_s') or [float('nan')]
        peak = _mib(median_peak(m))
        if len(m.get('rounds') or []) > 1:
            peaks = [r['peak_rss_bytes'] for r in m['rounds']]
            peak += f' ({_mib(min(peaks))}-{_mib(max(peaks))})'
        row = (f'| {name} | {peak} | '
               f'{_mib(m.get("rss_after_build_bytes") or 0)} | '
               f'{_mib(m.get("step_rss_increase_bytes") or 0)} | '
               f'{step[-1]:,.2f} |')
        if cuda:
            row += f' {_mib(m.get("cuda_peak_bytes", 0))} |'
        lines.append(row)
    return lines


def _time_tables(res: dict) -> List[str]:
    lines = []
    lines += ['| inference | batch | median ms | ratio to zero-shot: median '
              '(min-max); CPU-time ratio | ratio to predict |',
              '|---|---|---|---|---|']
    for b, rows in res['inference'].items():
        vs = res['inference_vs_predict'][b]
        for name, r in rows.items():
            lines.append(f'| {name} | {b} | {r["median_s"] * 1e3:,.1f} | '
                         f'{_ratio(r)} | {vs[name]:.3f} |')
    tb = res['train_batch']
    lines += ['', f'| training step (batch {tb}) | median s | ratio to '
              'IVLP: median (min-max); CPU-time ratio | ratio to MPA-FER |',
              '|---|---|---|---|']
    for name, r in res['train'].items():
        lines.append(f'| {name} | {r["median_s"]:,.3f} | {_ratio(r)} | '
                     f'{res["train_vs_mpa"][name]:.3f} |')
    modes = res.get('train_modes', {})
    if modes:
        lines += ['', '| execution mode (paired with MPA-FER at its batch) '
                  '| batch | median s | MPA-FER median s | ratio: median '
                  '(min-max); CPU-time ratio |', '|---|---|---|---|---|']
        for name, r in modes.items():
            lines.append(f'| {name} | {r["batch"]} | {r["median_s"]:,.3f} '
                         f'| {r["mpa_median_s"]:,.3f} | {_ratio(r)} |')
    return lines


def format_report(res: dict) -> str:
    """Render the results as text: ratios first, then Markdown tables."""
    lines = [f'Benchmark: {res["arch"]} (random weights), device '
             f'{res["device"]}, {res["machine"]}, torch {res["torch"]}, '
             f'{res["threads"]} threads, {res["date"]}', '']
    lines += headline(res) + ['']
    if res.get('inference'):  # not run with --memory-only
        lines += _time_tables(res)
    mem = res.get('memory')
    for key in ('variants', 'variants_mmap'):
        if mem and mem.get(key):
            lines += _memory_table(mem, key)
    if res.get('params'):
        lines += ['', '| model | trainable params | checkpoint bytes |',
                  '|---|---|---|']
    for name, c in res.get('params', {}).items():
        lines.append(f'| {name} | {c["trainable_params"]:,} | '
                     f'{c["checkpoint_bytes"]:,} |')
    if res.get('onnx_bytes'):
        lines.append('')
        lines.append('ONNX files: ' + ', '.join(
            f'{k} {_mib(v)} MiB' for k, v in res['onnx_bytes'].items()))
    for name, g in res.get('graph_breaks', {}).items():
        lines.append(f'torch.compile ({name}): {g["graphs"]} graphs, '
                     f'{g["graph_breaks"]} graph breaks' + (
                         ': ' + '; '.join(g['reasons']) if g['reasons']
                         else ''))
    p = res.get('pipeline')
    if p:
        lines += ['', f'Training data pipeline ({p["pipeline_images"]} '
                  f'generated 100x100 faces -> 224, 1 process): '
                  f'{p["pipeline_images_per_s"]:,.0f} images/s '
                  f'(transforms), {p["loader_images_per_s"]:,.0f} images/s '
                  '(+ collate and preprocessor)']
    return '\n'.join(lines)


def target_ratios(res: Dict) -> Dict:
    """The headline ratios from the measured tables (None: not run).

    ``predict / zero-shot at the prompted length`` is the reciprocal of the
    median paired ratio (at length) / ``predict``, and the sequence-first
    ratio that of (batch first) / MPA-FER (the same as the median of the
    inverse ratios for an odd number of rounds).
    """
    inf = vs_pred = {}
    if res.get('inference'):  # not run with --memory-only
        big = str(max(int(b) for b in res['inference']))
        inf = res['inference'][big]
        vs_pred = res['inference_vs_predict'][big]
    train, vs_mpa = res.get('train', {}), res.get('train_vs_mpa', {})
    mem = (res.get('memory') or {}).get('variants', {})

    def get(table, key, field=None):
        value = table.get(key)
        return value if field is None or value is None else value[field]

    def cp_ratio(variants, name='MPA-FER + checkpointing'):
        if name in variants and 'MPA-FER' in variants:
            return (median_peak(variants[name]) /
                    median_peak(variants['MPA-FER']))
        return None

    low_time = own_time = None
    if LOW_MEMORY in mem and 'MPA-FER' in mem:
        low_time = process_step_ratio(mem[LOW_MEMORY], mem['MPA-FER'])
    if 'IVLP' in mem and 'MPA-FER' in mem:
        own_time = process_step_ratio(mem['MPA-FER'], mem['IVLP'])

    compiled_inf = None
    if 'MPA-FER compiled logits' in inf:
        compiled_inf = (vs_pred['MPA-FER compiled logits'] /
                        vs_pred['MPA-FER eager logits'])
    return {
        'predict / zero-shot': get(inf, 'MPA-FER predict', 'ratio'),
        'zero-shot at the prompted length / zero-shot': get(
            inf, AT_LENGTH, 'ratio'),
        'predict / zero-shot at the prompted length': (
            None if AT_LENGTH not in vs_pred else 1 / vs_pred[AT_LENGTH]),
        'MPA-FER / IVLP train step': get(train, 'MPA-FER', 'ratio'),
        OWN_PROCESS_TIME: own_time,
        'checkpointing / none: peak RSS': cp_ratio(mem),
        MMAP_RATIO: cp_ratio((res.get('memory') or {}).get(
            'variants_mmap', {})),
        'checkpointing / none: step time': get(
            vs_mpa, 'MPA-FER + checkpointing'),
        LOW_MEMORY_RSS: cp_ratio(mem, LOW_MEMORY),
        LOW_MEMORY_TIME: low_time,
        'bf16 / fp32 train step': get(vs_mpa, 'MPA-FER bf16 autocast'),
        'compiled / eager train step': get(vs_mpa, 'MPA-FER compiled'),
        SEQ_FIRST_RATIO: (None if BATCH_FIRST not in vs_mpa
                          else 1 / vs_mpa[BATCH_FIRST]),
        'compiled / eager inference': compiled_inf,
        'ONNX fp32 / predict': get(vs_pred, 'ONNX fp32'),
        'ONNX int8 / predict': get(vs_pred, 'ONNX int8'),
    }
