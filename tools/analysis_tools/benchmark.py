"""Measure the compute cost of MPA-FER against its baselines.

Prints (and with ``--out`` writes as JSON) measured numbers, at the real
CLIP ViT-B/16 architecture with random weights (timing does not depend on
the weight values; the weights are saved to a temporary file and loaded
through the plugin's real loader):

* inference: MPA-FER ``predict`` against plain open_clip zero-shot
  (``encode_image`` + cached text features), at batch 1 and 8;
* one training step (forward + backward + SGD step): MPA-FER against IVLP
  and CoOp, and full fine-tuning of the image tower; peak memory of each
  (bytes of the tensors autograd saves for backward, plus gradients and
  optimizer state; on GPU also ``torch.cuda.max_memory_allocated``);
* trainable parameters, their fp32 bytes and the checkpoint size;
* throughput of the training data pipeline on generated 100x100 faces.

Variants are timed interleaved (one call of each, in turn, per repeat)
after warm-up, on the same inputs, and ratios are the median of the
per-repeat ratios, so slow phases of a shared machine hit all variants
alike. Runs on the GPU when one is present (``--device auto``).

Examples::

    python tools/analysis_tools/benchmark.py               # ViT-B/16
    python tools/analysis_tools/benchmark.py --quick       # tiny, seconds
    python tools/analysis_tools/benchmark.py --out bench.json
"""
import argparse
import copy
import io
import json
import os
import os.path as osp
import platform
import statistics
import sys
import tempfile
import time
from datetime import date
from typing import Callable, Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MODEL_CONFIGS = {
    'MPA-FER': 'configs/_base_/models/mpa_fer_vit_b16.py',
    'IVLP': 'configs/_base_/models/ivlp_vit_b16.py',
    'CoOp': 'configs/_base_/models/coop_vit_b16.py',
}
#: A small CLIP for ``--quick`` (32 px, 16 patches).
QUICK_CLIP = {
    'embed_dim': 32,
    'quick_gelu': True,
    'vision_cfg': {'image_size': 32, 'layers': 2, 'width': 64,
                   'patch_size': 8, 'head_width': 32},
    'text_cfg': {'context_length': 77, 'vocab_size': 49408, 'width': 32,
                 'heads': 2, 'layers': 2},
}


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse the command line (``argv`` defaults to ``sys.argv[1:]``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--arch', default='ViT-B-16-quickgelu',
                        help='open_clip model name (random weights)')
    parser.add_argument('--quick', action='store_true',
                        help='tiny CLIP, small batches, 2 repeats (a smoke '
                        'run; the numbers mean nothing)')
    parser.add_argument('--device', default='auto',
                        choices=('auto', 'cpu', 'cuda'))
    parser.add_argument('--infer-batches', type=int, nargs='+',
                        default=None, help='default: 1 8')
    parser.add_argument('--train-batch', type=int, default=None,
                        help='default: 8 on CPU, 32 on GPU')
    parser.add_argument('--repeats', type=int, default=None,
                        help='timed calls per variant (default: 11 for '
                        'inference, 5 for training; 2 with --quick)')
    parser.add_argument('--warmup', type=int, default=None,
                        help='untimed calls per variant (default: 2, 1 '
                        'with --quick)')
    parser.add_argument('--pipeline-images', type=int, default=None,
                        help='generated faces for the data pipeline '
                        'throughput (default: 256, 16 with --quick)')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch CPU threads (default: torch default)')
    parser.add_argument('--out', help='also write the results as JSON')
    args = parser.parse_args(argv)
    q = args.quick
    args.infer_batches = args.infer_batches or ([1, 2] if q else [1, 8])
    args.repeats_infer = args.repeats or (2 if q else 11)
    args.repeats_train = args.repeats or (2 if q else 5)
    args.warmup = 1 if q and args.warmup is None else (
        2 if args.warmup is None else args.warmup)
    args.pipeline_images = args.pipeline_images or (16 if q else 256)
    return args


# --------------------------------------------------------------- timing
def _sync(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def time_interleaved(fns: Dict[str, Callable[[], object]],
                     repeats: int,
                     warmup: int,
                     device: torch.device) -> Dict[str, Dict[str, list]]:
    """Time several callables in turn, ``repeats`` rounds after warm-up.

    Each call is timed by the wall clock and by this process's CPU time
    (all threads): another job on a shared machine stretches the first
    but hardly the second, which does not count time spent waiting for a
    core.

    Args:
        fns (dict[str, callable]): Variant name -> a call to time.
        repeats (int): Timed rounds; each round calls every variant once.
        warmup (int): Untimed rounds before.
        device (torch.device): Synchronised around every call on CUDA.

    Returns:
        dict: ``{'wall': {name: [s, ...]}, 'cpu': {name: [s, ...]}}``,
        seconds per call in round order.
    """
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    _sync(device)
    times = {'wall': {name: [] for name in fns},
             'cpu': {name: [] for name in fns}}
    for r in range(repeats):
        # Alternate the order so no variant always runs after the same one.
        names = list(fns) if r % 2 == 0 else list(fns)[::-1]
        for name in names:
            _sync(device)
            wall, cpu = time.perf_counter(), time.process_time()
            fns[name]()
            _sync(device)
            times['cpu'][name].append(time.process_time() - cpu)
            times['wall'][name].append(time.perf_counter() - wall)
    return times


def summarize(times: Dict[str, Dict[str, list]], baseline: str) -> Dict:
    """Median, spread and paired ratio to ``baseline`` of each variant.

    Args:
        times (dict): Output of :func:`time_interleaved`.
        baseline (str): The variant the ratios divide by.

    Returns:
        dict: Per variant, from the wall clock: ``median_s``, ``min_s``,
        ``max_s``, ``ratio`` (median over rounds of
        ``t_variant / t_baseline``) with ``ratio_min``/``ratio_max`` and
        ``ratio_of_minima`` (the least disturbed call of each); from CPU
        time: ``cpu_median_s``, ``cpu_ratio``, ``cpu_ratio_min`` and
        ``cpu_ratio_max``.
    """
    out = {}
    for name in times['wall']:
        row = {}
        for clock, prefix in (('wall', ''), ('cpu', 'cpu_')):
            ts, base = times[clock][name], times[clock][baseline]
            ratios = [t / max(b, 1e-9) for t, b in zip(ts, base)]
            row.update({
                f'{prefix}median_s': statistics.median(ts),
                f'{prefix}ratio': statistics.median(ratios),
                f'{prefix}ratio_min': min(ratios),
                f'{prefix}ratio_max': max(ratios)})
        wall = times['wall'][name]
        row.update(min_s=min(wall), max_s=max(wall),
                   ratio_of_minima=min(wall) / min(times['wall'][baseline]))
        out[name] = row
    return out


# --------------------------------------------------------------- models
def save_random_clip(arch: str, model_cfg: Optional[dict],
                     folder: str) -> dict:
    """Save a randomly initialised CLIP and return its ``clip`` spec.

    Args:
        arch (str): open_clip model name (used when ``model_cfg`` is None).
        model_cfg (dict, optional): open_clip ``CLIP`` keyword arguments.
        folder (str): Where to write ``random_clip.pt``.

    Returns:
        dict: The spec, loadable by
        :func:`mpa_fer_plugin.models.utils.load_clip`.
    """
    import open_clip
    torch.manual_seed(0)
    if model_cfg is not None:
        model = open_clip.model.CLIP(**copy.deepcopy(model_cfg))
        spec = dict(model_cfg=copy.deepcopy(model_cfg))
    else:
        model = open_clip.create_model(arch, pretrained=None)
        spec = dict(model_name=arch)
    path = osp.join(folder, 'random_clip.pt')
    torch.save(model.state_dict(), path)
    spec['pretrained'] = path
    return spec


def build_plugin_model(name: str, clip_spec: dict, device: torch.device,
                       topk: Optional[int] = None) -> torch.nn.Module:
    """Build a plugin model from its base config on the given CLIP.

    Args:
        name (str): A key of :data:`MODEL_CONFIGS`.
        clip_spec (dict): The ``clip`` spec.
        device (torch.device): Target device.
        topk (int, optional): Override ``topk_patches`` (small CLIPs).

    Returns:
        nn.Module: The model; random prototypes are set when its head has
        ``loss_proto`` (their values do not change the cost).
    """
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS
    cfg = Config.fromfile(osp.join(ROOT, MODEL_CONFIGS[name]))
    model_cfg = cfg.model
    model_cfg.clip = copy.deepcopy(clip_spec)
    if topk is not None:
        model_cfg.head.topk_patches = topk
    init_default_scope('mmpretrain')
    model = MODELS.build(model_cfg).to(device)
    head = model.head
    if getattr(head, 'loss_proto', None) is not None:
        gen = torch.Generator().manual_seed(0)
        head.set_prototypes(torch.randn(head.prototypes.shape,
                                        generator=gen).to(device))
    return model


def zero_shot_text_features(clip_model: torch.nn.Module, classnames,
                            clip_spec: dict) -> torch.Tensor:
    """Encode ``'a photo of a {c}.'`` once (the cached zero-shot head)."""
    from mpa_fer_plugin.models.utils import get_tokenizer
    tokenizer = get_tokenizer(clip_spec)
    ids = tokenizer([f'a photo of a {c}.' for c in classnames])
    device = next(clip_model.parameters()).device
    with torch.no_grad():
        return clip_model.encode_text(ids.to(device), normalize=True)


# --------------------------------------------------------------- memory
class SavedTensorMeter:
    """Sum the bytes of the tensors autograd saves for backward.

    Storages are counted once however many views are saved; the frozen and
    trainable parameters (``exclude``) are not counted, so the figure is the
    activation memory a training step adds on top of the weights.

    Args:
        exclude (Sequence[Tensor]): Tensors not to count (parameters).
    """

    def __init__(self, exclude: Sequence[torch.Tensor] = ()) -> None:
        self.exclude = {t.untyped_storage().data_ptr() for t in exclude}
        self.seen: set = set()
        self.bytes = 0

    def pack(self, tensor: torch.Tensor) -> torch.Tensor:
        """Record ``tensor`` and hand it back unchanged."""
        storage = tensor.untyped_storage()
        ptr = storage.data_ptr()
        if ptr not in self.exclude and ptr not in self.seen:
            self.seen.add(ptr)
            self.bytes += storage.nbytes()
        return tensor

    def hooks(self):
        """The ``saved_tensors_hooks`` context that records."""
        return torch.autograd.graph.saved_tensors_hooks(
            self.pack, lambda t: t)


def _optimizer_state_bytes(optimizer: torch.optim.Optimizer) -> int:
    return sum(v.numel() * v.element_size()
               for state in optimizer.state.values()
               for v in state.values() if torch.is_tensor(v))


# --------------------------------------------------------------- steps
def make_train_step(model: torch.nn.Module, inputs: torch.Tensor,
                    samples: list, lr: float = 1e-3) -> Callable:
    """A training step of a plugin model: loss, backward, SGD step."""
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=lr, momentum=0.9,
                                weight_decay=5e-4)
    model.train()

    def step(meter: Optional[SavedTensorMeter] = None):
        optimizer.zero_grad(set_to_none=True)
        if meter is None:
            losses = model(inputs, samples, mode='loss')
        else:
            with meter.hooks():
                losses = model(inputs, samples, mode='loss')
        loss = sum(v for k, v in losses.items() if 'loss' in k)
        loss.backward()
        optimizer.step()
        return optimizer

    return step


def make_full_ft_step(clip_model: torch.nn.Module, text: torch.Tensor,
                      inputs: torch.Tensor, labels: torch.Tensor,
                      lr: float = 1e-5) -> Callable:
    """A step of full fine-tuning of the image tower (text cached)."""
    clip_model.requires_grad_(False)
    visual = clip_model.visual
    visual.requires_grad_(True)
    visual.train()
    optimizer = torch.optim.SGD(visual.parameters(), lr=lr, momentum=0.9,
                                weight_decay=5e-4)

    def step(meter: Optional[SavedTensorMeter] = None):
        optimizer.zero_grad(set_to_none=True)

        def forward():
            feats = F.normalize(visual(inputs), dim=-1)
            return F.cross_entropy(100.0 * feats @ text.t(), labels)

        if meter is None:
            loss = forward()
        else:
            with meter.hooks():
                loss = forward()
        loss.backward()
        optimizer.step()
        return optimizer

    return step


def measure_memory(step: Callable, params: Sequence[torch.Tensor],
                   device: torch.device) -> Dict[str, int]:
    """Memory of one training step (after a warm-up step).

    Args:
        step (callable): ``step(meter=None)`` returning its optimizer.
        params (Sequence[Tensor]): All parameters of the model (not counted
            as activations).
        device (torch.device): With CUDA, the peak allocation is read too.

    Returns:
        dict[str, int]: ``weight_bytes`` (all parameters),
        ``saved_activation_bytes``, ``grad_bytes`` (trainable parameters),
        ``optimizer_state_bytes``, their sum ``estimated_peak_bytes`` and,
        on CUDA, ``cuda_peak_bytes`` (measured, whole step).
    """
    meter = SavedTensorMeter(params)
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    optimizer = step(meter)
    out = dict(
        weight_bytes=sum(p.numel() * p.element_size() for p in params),
        saved_activation_bytes=meter.bytes,
        grad_bytes=sum(p.numel() * p.element_size() for p in params
                       if p.requires_grad),
        optimizer_state_bytes=_optimizer_state_bytes(optimizer))
    out['estimated_peak_bytes'] = sum(out.values())
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
        out['cuda_peak_bytes'] = torch.cuda.max_memory_allocated(device)
    return out


# --------------------------------------------------------------- pipeline
def pipeline_throughput(num_images: int, folder: str,
                        passes: int = 2) -> Dict[str, float]:
    """Images/s of the training data pipeline on generated 100x100 faces.

    The pipeline is the one of ``configs/_base_/datasets/synthetic_fer.py``
    (load JPEG, RandomResizedCrop to 224, flip, RandomErasing, pack), then
    mmengine's collate and the CLIP ``ClsDataPreprocessor``, in the main
    process (``num_workers=0``).

    Args:
        num_images (int): Generated training faces.
        folder (str): Where to write them.
        passes (int): Passes over the data; the first is a warm-up.

    Returns:
        dict[str, float]: ``pipeline_images_per_s`` (transforms only) and
        ``loader_images_per_s`` (with collate and preprocessor).
    """
    from mmengine.config import Config
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import DATASETS, MODELS

    from mpa_fer_plugin.datasets.synthetic import generate_synthetic_fer
    generate_synthetic_fer(folder, num_train=num_images, num_test=0,
                           size=100, seed=0)
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs/_base_/datasets/synthetic_fer.py'))
    init_default_scope('mmpretrain')
    ds_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    ds_cfg.data_root = folder
    dataset = DATASETS.build(ds_cfg)
    preprocessor = MODELS.build(cfg.data_preprocessor)
    batch = cfg.train_dataloader.batch_size
    best_pipe = best_loader = float('inf')
    for _ in range(passes):
        start = time.perf_counter()
        items = [dataset[i] for i in range(len(dataset))]
        mid = time.perf_counter()
        for i in range(0, len(items), batch):
            preprocessor(pseudo_collate(items[i:i + batch]), training=True)
        end = time.perf_counter()
        best_pipe = min(best_pipe, mid - start)
        best_loader = min(best_loader, end - start)
    return dict(pipeline_images_per_s=len(dataset) / best_pipe,
                loader_images_per_s=len(dataset) / best_loader,
                pipeline_images=len(dataset))


# --------------------------------------------------------------- report
def _mib(n: float) -> str:
    return f'{n / 2**20:,.1f}'


def _cpu(r: dict) -> str:
    return (f'{r["cpu_ratio"]:.3f} ({r["cpu_ratio_min"]:.3f}-'
            f'{r["cpu_ratio_max"]:.3f})')


def format_report(res: dict) -> str:
    """Render the results as Markdown tables."""
    lines = [f'Benchmark: {res["arch"]} (random weights), device '
             f'{res["device"]}, {res["machine"]}, torch {res["torch"]}, '
             f'{res["threads"]} threads, {res["date"]}', '']
    lines += ['| inference | batch | median ms | min-max ms | '
              'ratio to zero-shot: median (min-max) | ratio of minima | '
              'CPU-time ratio: median (min-max) |',
              '|---|---|---|---|---|---|---|']
    for b, rows in res['inference'].items():
        for name, r in rows.items():
            lines.append(
                f'| {name} | {b} | {r["median_s"] * 1e3:,.1f} | '
                f'{r["min_s"] * 1e3:,.1f}-{r["max_s"] * 1e3:,.1f} | '
                f'{r["ratio"]:.3f} ({r["ratio_min"]:.3f}-'
                f'{r["ratio_max"]:.3f}) | {r["ratio_of_minima"]:.3f} | '
                f'{_cpu(r)} |')
    tb = res['train_batch']
    lines += ['', f'| training step (batch {tb}) | median s | min-max s | '
              'ratio to IVLP: median (min-max) | ratio of minima | '
              'CPU-time ratio: median (min-max) | saved activations MiB | '
              'grads + optimizer MiB | weights + all of these MiB |' + (
                  ' CUDA peak MiB |' if 'cuda' in res['device'] else ''),
              '|---|---|---|---|---|---|---|---|---|' + (
                  '---|' if 'cuda' in res['device'] else '')]
    for name, r in res['train'].items():
        mem = res['memory'][name]
        row = (f'| {name} | {r["median_s"]:,.3f} | {r["min_s"]:,.3f}-'
               f'{r["max_s"]:,.3f} | {r["ratio"]:.3f} ({r["ratio_min"]:.3f}'
               f'-{r["ratio_max"]:.3f}) | {r["ratio_of_minima"]:.3f} | '
               f'{_cpu(r)} | {_mib(mem["saved_activation_bytes"])} | '
               f'{_mib(mem["grad_bytes"] + mem["optimizer_state_bytes"])} | '
               f'{_mib(mem["estimated_peak_bytes"])} |')
        if 'cuda_peak_bytes' in mem:
            row += f' {_mib(mem["cuda_peak_bytes"])} |'
        lines.append(row)
    lines += ['', '| model | trainable params | trainable fp32 bytes | '
              'checkpoint bytes |', '|---|---|---|---|']
    for name, c in res['params'].items():
        lines.append(f'| {name} | {c["trainable_params"]:,} | '
                     f'{c["trainable_fp32_bytes"]:,} | '
                     f'{c["checkpoint_bytes"]:,} |')
    p = res['pipeline']
    lines += ['', f'Training data pipeline ({p["pipeline_images"]} '
              f'generated 100x100 faces -> 224, 1 process): '
              f'{p["pipeline_images_per_s"]:,.0f} images/s (transforms), '
              f'{p["loader_images_per_s"]:,.0f} images/s (+ collate and '
              'preprocessor)', '']
    t = res['targets']
    def verdict(name: str, limit: float) -> str:
        wall, cpu = t[name], t[f'cpu_{name}']
        met = 'met' if wall <= limit else 'MISSED'
        return f'{wall:.3f} (CPU time {cpu:.3f}; <= {limit}: {met})'

    lines += [f'Targets (median paired wall-clock ratio): MPA-FER predict / '
              f'zero-shot (batch {t["infer_batch"]}) = '
              f'{verdict("predict_ratio", 1.08)}; MPA-FER step / IVLP step '
              f'= {verdict("train_ratio", 1.10)}']
    return '\n'.join(lines)


def _machine() -> str:
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


def run(args: argparse.Namespace) -> dict:
    """Run every measurement and return the results dict."""
    os.environ.setdefault('HF_HUB_OFFLINE', '1')
    from mmengine.logging import print_log
    from mmpretrain.structures import DataSample

    import mpa_fer_plugin  # noqa: F401  (registers the plugin modules)
    from mpa_fer_plugin.models.utils import clear_clip_cache, load_clip
    sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis_tools'))
    try:
        from count_params import count
    finally:
        sys.path.pop(0)

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device == 'auto':
        device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    else:
        device = torch.device(args.device)
    train_batch = args.train_batch or (
        2 if args.quick else (32 if device.type == 'cuda' else 8))
    res = dict(arch='quick tiny CLIP' if args.quick else args.arch,
               device=str(device) if device.type == 'cpu' else
               f'cuda ({torch.cuda.get_device_name(device)})',
               machine=_machine(), torch=torch.__version__,
               threads=torch.get_num_threads(), date=str(date.today()),
               train_batch=train_batch, repeats=dict(
                   inference=args.repeats_infer, train=args.repeats_train,
                   warmup=args.warmup))

    def log(msg: str) -> None:
        print_log(f'benchmark: {msg}', logger='current')

    with tempfile.TemporaryDirectory() as tmp:
        spec = save_random_clip(args.arch,
                                QUICK_CLIP if args.quick else None, tmp)
        topk = 4 if args.quick else None
        log(f'building models on {res["arch"]} ({device})')
        models = {name: build_plugin_model(name, spec, device, topk)
                  for name in MODEL_CONFIGS}
        clip_model = load_clip(spec, use_cache=False).to(device)
        clear_clip_cache()
        classnames = models['MPA-FER'].head.classnames
        text = zero_shot_text_features(clip_model, classnames, spec)
        size = clip_model.visual.image_size
        size = size[0] if isinstance(size, (tuple, list)) else size
        gen = torch.Generator().manual_seed(0)

        # ---- inference
        res['inference'] = {}
        mpa = models['MPA-FER'].eval()
        for b in args.infer_batches:
            x = torch.randn(b, 3, size, size, generator=gen).to(device)

            def zero_shot(x=x):
                feats = clip_model.encode_image(x, normalize=True)
                return (100.0 * feats @ text.t()).argmax(dim=-1)

            fns = {'open_clip zero-shot': zero_shot,
                   'MPA-FER predict': lambda x=x: mpa.predict(x)}
            log(f'inference, batch {b}')
            with torch.inference_mode():
                times = time_interleaved(fns, args.repeats_infer,
                                         args.warmup, device)
            res['inference'][str(b)] = summarize(times,
                                                 'open_clip zero-shot')

        # ---- training steps
        x = torch.randn(train_batch, 3, size, size, generator=gen).to(device)
        labels = torch.arange(train_batch) % len(classnames)
        samples = [DataSample().set_gt_label(int(y)).to(device)
                   for y in labels]
        steps = {name: make_train_step(models[name], x, samples)
                 for name in MODEL_CONFIGS}
        ft_clip = load_clip(spec, use_cache=False).to(device)
        steps['full fine-tuning (image tower)'] = make_full_ft_step(
            ft_clip, text, x, labels.to(device))
        log(f'training steps, batch {train_batch}')
        times = time_interleaved(steps, args.repeats_train, args.warmup,
                                 device)
        res['train'] = summarize(times, 'IVLP')
        res['memory'] = {}
        for name, step in steps.items():
            owner = ft_clip if name.startswith('full') else models[name]
            log(f'memory of {name}')
            res['memory'][name] = measure_memory(
                step, list(owner.parameters()), device)

        # ---- sizes
        res['params'] = {name: {k: v for k, v in count(m).items()
                                if k != 'trainable'}
                         for name, m in models.items()}
        visual = ft_clip.visual
        buffer = io.BytesIO()
        torch.save(visual.state_dict(), buffer)
        n_visual = sum(p.numel() for p in visual.parameters())
        res['params']['full fine-tuning (image tower)'] = dict(
            trainable_params=n_visual, trainable_fp32_bytes=4 * n_visual,
            checkpoint_bytes=buffer.getbuffer().nbytes)

        # ---- data pipeline
        log(f'data pipeline, {args.pipeline_images} faces')
        res['pipeline'] = pipeline_throughput(
            args.pipeline_images, osp.join(tmp, 'faces'))

    big = str(max(args.infer_batches))
    predict = res['inference'][big]['MPA-FER predict']
    res['targets'] = dict(
        infer_batch=int(big), predict_ratio=predict['ratio'],
        cpu_predict_ratio=predict['cpu_ratio'],
        train_ratio=res['train']['MPA-FER']['ratio'],
        cpu_train_ratio=res['train']['MPA-FER']['cpu_ratio'])
    return res


def main(argv: Optional[List[str]] = None) -> dict:
    """Run the benchmark, print the tables and optionally save JSON."""
    args = parse_args(argv)
    start = time.time()
    res = run(args)
    res['command'] = 'python tools/analysis_tools/benchmark.py ' + ' '.join(
        sys.argv[1:] if argv is None else argv)
    res['seconds'] = round(time.time() - start, 1)
    print(format_report(res))
    print(f'({res["seconds"]:.0f} s)')
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(res, f, indent=2)
    return res


if __name__ == '__main__':
    main()
