"""Run every benchmark measurement and collect the results dict."""
import copy
import io
import os
import os.path as osp
import platform
import sys
import tempfile
from datetime import date
from typing import Callable, Dict

import torch

from .memory import measure_in_subprocess
from .models import (
    FULL_FT,
    MODEL_CONFIGS,
    QUICK_CLIP,
    ROOT,
    build_plugin_model,
    make_batch,
    make_full_ft_step,
    make_train_step,
    save_random_clip,
    zero_shot_at_length,
    zero_shot_text_features,
)
from .report import (
    AT_LENGTH,
    BATCH_FIRST,
    LOW_MEMORY,
    LOW_MEMORY_RSS,
    LOW_MEMORY_TIME,
    MMAP_RATIO,
    OWN_PROCESS_TIME,
    SEQ_FIRST_RATIO,
    median_peak,
    target_ratios,
)
from .timing import summarize, time_interleaved

#: Execution modes of MPA-FER, each timed against MPA-FER at its batch.
MODES = ('MPA-FER + checkpointing', 'MPA-FER bf16 autocast',
         'MPA-FER compiled', BATCH_FIRST)
#: Variants measured in their own process by default (name -> spec keys).
MEMORY_VARIANTS = {
    'MPA-FER': dict(variant='MPA-FER'),
    'MPA-FER + checkpointing': dict(variant='MPA-FER', with_cp=True),
    LOW_MEMORY: dict(variant='MPA-FER', with_cp=True, low_memory=True),
    'MPA-FER bf16 autocast': dict(variant='MPA-FER', amp=True),
    'IVLP': dict(variant='IVLP'),
    'CoOp': dict(variant='CoOp'),
    FULL_FT: dict(variant='full'),
}


def machine() -> str:
    """CPU model and count."""
    cpu = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    cpu = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    return f'{cpu}, {os.cpu_count()} CPUs'


def load() -> str:
    """1/5/15-minute load averages."""
    try:
        return '/'.join(f'{v:.2f}' for v in os.getloadavg())
    except OSError:
        return 'unknown'


def _memory(args, spec: dict, device: torch.device, log) -> Dict:
    """Each memory variant in its own process, ``--memory-rounds`` times.

    Rounds alternate the order of the variants (reversed on every second
    round), so a drift in the machine's load does not favour one. A
    variant's entry is its first round's result plus ``rounds``, the
    results of every round.
    """
    steps = getattr(args, 'memory_steps', None) or 1
    rounds = getattr(args, 'memory_rounds', None) or 1
    thresholds = [None]
    if getattr(args, 'mmap_threshold', None):
        thresholds.append(args.mmap_threshold)
    out = dict(batch=args.memory_batch, steps=steps, rounds=rounds,
               variants={})
    for threshold in thresholds:
        key = 'variants' if threshold is None else 'variants_mmap'
        out[key] = {}
        if threshold:
            out['mmap_threshold'] = threshold
        how = '' if threshold is None else \
            f', MALLOC_MMAP_THRESHOLD_={threshold}'
        names = list(args.memory_variants)
        if threshold is not None:  # has its own allocator settings
            names = [n for n in names if n != LOW_MEMORY]
        for r in range(rounds):
            for name in (names if r % 2 == 0 else names[::-1]):
                log(f'peak memory of {name} (own process, batch '
                    f'{args.memory_batch}{how}, round {r + 1}/{rounds})')
                cfg = dict(MEMORY_VARIANTS[name], clip=spec,
                           batch=args.memory_batch, device=str(device),
                           threads=torch.get_num_threads(),
                           topk=4 if args.quick else None, steps=steps,
                           mmap_threshold=threshold)
                m = measure_in_subprocess(cfg)
                entry = out[key].setdefault(name, dict(m, rounds=[]))
                entry['rounds'].append(m)
                log(f'peak memory of {name}{how}: '
                    f'{m["peak_rss_bytes"] / 2**30:.2f} GiB')
    return out


def _inference(args, res, models, clip_model, text, size, tmp, gen, log):
    from .deploy import compile_forward, graph_breaks, onnx_callables
    mpa = models['MPA-FER'].eval()
    onnx = {} if args.no_onnx else onnx_callables(
        mpa, tmp, torch.get_num_threads())
    res['onnx_bytes'] = onnx.pop('_bytes', None)
    at_length = zero_shot_at_length(clip_model, text,
                                    mpa.backbone.num_prompts)
    res['prompt_tokens'] = mpa.backbone.num_prompts
    compiled = None
    if not args.no_compile:
        x = torch.randn(2, 3, size, size, generator=gen)
        with torch.no_grad():
            res['graph_breaks']['inference (logits)'] = graph_breaks(
                lambda x: mpa(x, mode='tensor'), x)
        compiled = compile_forward(mpa, args.compile_cfg)
    res['inference'], res['inference_vs_predict'] = {}, {}
    for b in args.infer_batches:
        x = torch.randn(b, 3, size, size, generator=gen).to(args.device_obj)
        x_np = x.cpu().numpy()

        def zero_shot(x=x):
            feats = clip_model.encode_image(x, normalize=True)
            return (100.0 * feats @ text.t()).argmax(dim=-1)

        fns = {'open_clip zero-shot': zero_shot,
               AT_LENGTH: lambda x=x: at_length(x),
               'MPA-FER predict': lambda x=x: mpa.predict(x)}
        for name, run in onnx.items():
            fns[name] = lambda run=run, x_np=x_np: run(x_np)
        if compiled is not None:
            fns['MPA-FER eager logits'] = lambda x=x: mpa(x, mode='tensor')
            fns['MPA-FER compiled logits'] = lambda x=x: compiled(x)
        log(f'inference, batch {b}: {", ".join(fns)}')
        with torch.inference_mode():
            times = time_interleaved(fns, args.repeats_infer,
                                     args.warmup + (compiled is not None),
                                     args.device_obj)
        res['inference'][str(b)] = summarize(times, 'open_clip zero-shot')
        vs = summarize(times, 'MPA-FER predict')
        res['inference_vs_predict'][str(b)] = {
            n: r['ratio'] for n, r in vs.items()}


def _train_steps(args, res, models, spec, device, log
                 ) -> Dict[int, Dict[str, Callable]]:
    """Training steps grouped by batch; every group has plain MPA-FER.

    The main group (``args.train_batch_n``) holds the methods and the
    compiled step; checkpointing and bf16 run at their own batches
    (``args.cp_batch_n``, ``args.amp_batch_n``) next to MPA-FER at the
    same batch, so each mode's ratio is paired within its group.
    """
    mpa = models['MPA-FER']
    size = mpa.backbone.visual.image_size
    size = size[0] if isinstance(size, (tuple, list)) else size
    classes = len(mpa.head.classnames)
    topk = 4 if args.quick else None
    batches = {}

    def data_of(batch):
        if batch not in batches:
            batches[batch] = make_batch(size, batch, classes, device)
        return batches[batch]

    tb = args.train_batch_n
    groups = {tb: {name: make_train_step(models[name], data_of(tb))
                   for name in MODEL_CONFIGS}}
    from ..models.utils import clear_clip_cache, load_clip
    ft_clip = load_clip(spec, use_cache=False).to(device)
    clear_clip_cache()
    text = zero_shot_text_features(ft_clip, mpa.head.classnames, spec)
    inputs = mpa.data_preprocessor(data_of(tb), True)['inputs']
    labels = torch.arange(tb, device=device) % classes
    groups[tb][FULL_FT] = make_full_ft_step(ft_clip, text, inputs, labels)
    res['_ft_visual'] = ft_clip.visual

    def twin(**kwargs):
        model = build_plugin_model('MPA-FER', spec, device, topk, **kwargs)
        model.load_state_dict(mpa.state_dict())
        return model

    def add(name, batch, **step_kwargs):
        group = groups.setdefault(batch, {})
        if 'MPA-FER' not in group:  # the paired reference at this batch
            group['MPA-FER'] = make_train_step(mpa, data_of(batch))
        model = twin(with_cp=step_kwargs.pop('with_cp', False),
                     seq_first=step_kwargs.pop('seq_first', None))
        group[name] = make_train_step(model, data_of(batch), **step_kwargs)

    if args.cp_batch_n:
        add('MPA-FER + checkpointing', args.cp_batch_n, with_cp=True)
    if args.amp_batch_n:
        add('MPA-FER bf16 autocast', args.amp_batch_n, amp=True)
    if getattr(args, 'compare_batch_first', False):
        # The layout before backbone.seq_first: open_clip's batch-first
        # attention on the prompted tokens.
        add(BATCH_FIRST, tb, seq_first=False)
    if not args.no_compile:
        from .deploy import graph_breaks
        from .models import make_optim_wrapper
        probe = twin().train()
        res['graph_breaks']['train_step'] = graph_breaks(
            probe.train_step, data_of(tb), make_optim_wrapper(probe))
        del probe
        groups[tb]['MPA-FER compiled'] = make_train_step(
            twin(), data_of(tb), compile_cfg=args.compile_cfg)
    return groups


def _time_train(args, res, groups, device, log) -> None:
    """Time each batch group interleaved; ratios to MPA-FER per group."""
    res['train_vs_mpa'], res['train_modes'] = {}, {}
    for batch, steps in groups.items():
        compiled = 'MPA-FER compiled' in steps
        log(f'training steps, batch {batch}: {", ".join(steps)}')
        times = time_interleaved(steps, args.repeats_train,
                                 args.warmup + compiled, device)
        vs_mpa = summarize(times, 'MPA-FER')
        if batch == args.train_batch_n:
            res['train'] = summarize(times, 'IVLP')
        for name, r in vs_mpa.items():
            if name == 'MPA-FER' and batch != args.train_batch_n:
                continue
            res['train_vs_mpa'][name] = r['ratio']
            if name in MODES:
                res['train_modes'][name] = dict(
                    r, batch=batch,
                    mpa_median_s=vs_mpa['MPA-FER']['median_s'])
        log(f'train-step ratios to MPA-FER at batch {batch}: ' + ', '.join(
            f'{n} {r["ratio"]:.3f}' for n, r in vs_mpa.items()))


def _timed(args, res, spec, device, tmp, log) -> None:
    """Inference, training steps, sizes and the data pipeline."""
    from mpa_fer_plugin.models.utils import load_clip
    sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis_tools'))
    try:
        from count_params import count
    finally:
        sys.path.pop(0)
    topk = 4 if args.quick else None
    log(f'building models on {res["arch"]} ({device})')
    models = {name: build_plugin_model(name, spec, device, topk)
              for name in MODEL_CONFIGS}
    clip_model = load_clip(spec, use_cache=False).to(device).eval()
    classnames = models['MPA-FER'].head.classnames
    text = zero_shot_text_features(clip_model, classnames, spec)
    size = clip_model.visual.image_size
    size = size[0] if isinstance(size, (tuple, list)) else size
    gen = torch.Generator().manual_seed(0)
    _inference(args, res, models, clip_model, text, size, tmp, gen, log)
    del clip_model

    groups = _train_steps(args, res, models, spec, device, log)
    _time_train(args, res, groups, device, log)
    del groups

    res['params'] = {name: {k: v for k, v in count(m).items()
                            if k in ('trainable_params',
                                     'checkpoint_bytes')}
                     for name, m in models.items()}
    visual = res.pop('_ft_visual')
    buffer = io.BytesIO()
    torch.save(visual.state_dict(), buffer)
    res['params'][FULL_FT] = dict(
        trainable_params=sum(p.numel() for p in visual.parameters()),
        checkpoint_bytes=buffer.getbuffer().nbytes)
    del models, visual

    if args.pipeline_images:
        from .pipeline import pipeline_throughput
        log(f'data pipeline, {args.pipeline_images} faces')
        res['pipeline'] = pipeline_throughput(
            args.pipeline_images, osp.join(tmp, 'faces'))


def run(args) -> dict:
    """Run every measurement selected by ``args`` (see the CLI)."""
    os.environ.setdefault('HF_HUB_OFFLINE', '1')
    from mmengine.logging import print_log

    import mpa_fer_plugin  # noqa: F401  (registers the plugin modules)

    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(('cuda' if torch.cuda.is_available() else 'cpu')
                          if args.device == 'auto' else args.device)
    args.device_obj = device
    args.train_batch_n = args.train_batch or (
        2 if args.quick else (32 if device.type == 'cuda' else 8))
    # None: the default; 0 skips the mode.
    args.cp_batch_n = args.memory_batch if getattr(
        args, 'cp_batch', None) is None else args.cp_batch
    args.amp_batch_n = args.train_batch_n if getattr(
        args, 'amp_batch', None) is None else args.amp_batch
    args.compile_cfg = dict(backend=args.compile_backend)
    res = dict(arch='quick tiny CLIP' if args.quick else args.arch,
               device=str(device) if device.type == 'cpu' else
               f'cuda ({torch.cuda.get_device_name(device)})',
               machine=machine(), torch=torch.__version__,
               threads=torch.get_num_threads(), date=str(date.today()),
               load=dict(start=load()), train_batch=args.train_batch_n,
               cp_batch=args.cp_batch_n, amp_batch=args.amp_batch_n,
               repeats=dict(inference=args.repeats_infer,
                            train=args.repeats_train, warmup=args.warmup),
               compile=args.compile_cfg, graph_breaks={})

    def log(msg: str) -> None:
        print_log(f'benchmark: {msg}', logger='current')

    with tempfile.TemporaryDirectory() as tmp:
        spec = save_random_clip(args.arch,
                                QUICK_CLIP if args.quick else None, tmp)
        # Memory first, while this process holds no model.
        if args.memory_variants:
            res['memory'] = _memory(args, spec, device, log)
        if not getattr(args, 'memory_only', False):
            _timed(args, res, spec, device, tmp, log)

    if args.demo_seeds:
        from .demo_world import run_demo_checks
        res['demo'] = run_demo_checks(
            args.demo_work_dir, args.demo_seeds, torch.get_num_threads(),
            config=args.demo_config, log=log,
            amp=getattr(args, 'demo_amp', False))
    res['load']['end'] = load()
    res['ratios'] = target_ratios(res)
    res['ratio_notes'] = _notes(res)
    return res


def _notes(res: dict) -> Dict[str, str]:
    big = max((int(b) for b in res.get('inference', {})), default=None)
    tb, mem = res['train_batch'], res.get('memory')
    modes = res.get('train_modes', {})

    def at(name):
        return f' (batch {modes[name]["batch"]})' if name in modes else ''

    floor = (f' (batch {big}; {res.get("prompt_tokens")} more tokens in '
             'every block, nothing else)')
    notes = {'predict / zero-shot': f' (batch {big})',
             'zero-shot at the prompted length / zero-shot': floor,
             'predict / zero-shot at the prompted length': f' (batch {big})',
             'MPA-FER / IVLP train step': f' (batch {tb})',
             'checkpointing / none: step time': at('MPA-FER + checkpointing'),
             'bf16 / fp32 train step': at('MPA-FER bf16 autocast'),
             'compiled / eager train step': at('MPA-FER compiled'),
             SEQ_FIRST_RATIO: at(BATCH_FIRST),
             'compiled / eager inference': f' (batch {big})',
             'ONNX fp32 / predict': f' (batch {big})',
             'ONNX int8 / predict': f' (batch {big})'}
    for key, ratio, name in (
            ('variants', 'checkpointing / none: peak RSS',
             'MPA-FER + checkpointing'),
            ('variants_mmap', MMAP_RATIO, 'MPA-FER + checkpointing'),
            ('variants', LOW_MEMORY_RSS, LOW_MEMORY)):
        v = (mem or {}).get(key, {})
        if name in v and 'MPA-FER' in v:
            cp = median_peak(v[name]) / 2**30
            notes[ratio] = (f' (batch {mem["batch"]}: {cp:.2f} / '
                            f'{median_peak(v["MPA-FER"]) / 2**30:.2f}'
                            ' GiB)')
    v = (mem or {}).get('variants', {})
    for name, ratio in ((LOW_MEMORY, LOW_MEMORY_TIME),
                        ('IVLP', OWN_PROCESS_TIME)):
        if name in v and 'MPA-FER' in v:
            notes[ratio] = (
                f' (batch {mem["batch"]}, own processes, '
                f'{len(v[name]["rounds"])} rounds, median step after '
                'the first of each process)')
    return copy.deepcopy(notes)
