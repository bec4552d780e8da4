"""Accuracy checks on the demo world: int8 ONNX, bf16 vs fp32 training.

``configs/mpa_fer_demo.py`` (the committed tiny CLIP) is trained on the
world of ``make demo`` with the real tools in subprocesses
(``tools/train.py``, optionally also with ``--amp``, paired by seed); the
first fp32 run's checkpoint is exported to fp32 and int8 ONNX and the
three backends are scored on the same test faces.
"""
import hashlib
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
import time
from typing import Dict, List, Optional, Sequence

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO_CONFIG = 'configs/mpa_fer_demo.py'
#: Two-sided 95 % Student-t quantiles by degrees of freedom.
_T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447,
        7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228}


def sha256(path: str) -> str:
    """The sha256 hex digest of a file."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def paired_summary(a: Sequence[float], b: Sequence[float]) -> Dict:
    """Mean of the paired differences ``b - a`` with a 95 % t interval."""
    diffs = [y - x for x, y in zip(a, b)]
    n = len(diffs)
    mean = statistics.fmean(diffs)
    half = (_T95.get(n - 1, 1.96) * statistics.stdev(diffs) / n**0.5
            if n > 1 else float('nan'))
    return dict(n=n, mean_diff=mean, ci95=(mean - half, mean + half),
                diffs=diffs)


def _run(cmd: List[str], threads: int, log: str) -> float:
    env = dict(os.environ, HF_HUB_OFFLINE='1', OMP_NUM_THREADS=str(threads),
               PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH',
                                                             ''))
    start = time.perf_counter()
    with open(log, 'a') as f:
        f.write('$ ' + ' '.join(cmd) + '\n')
        f.flush()
        proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=f,
                              stderr=subprocess.STDOUT)
    if proc.returncode:
        raise RuntimeError(f'{" ".join(cmd)} failed ({proc.returncode}); '
                           f'see {log}')
    return time.perf_counter() - start


def ensure_demo_data(data_root: str) -> str:
    """The demo world of ``make demo`` (``DEMO_WORLD``: 700 train / 2100
    test balanced 64 px faces, data seed 0), generated unless ``data_root``
    already verifies against it."""
    from ..demo.world import ensure_world
    ensure_world(data_root)
    return data_root


def _data_opts(data_root: str) -> List[str]:
    return [f'{k}.dataset.data_root={data_root}'
            for k in ('train_dataloader', 'val_dataloader',
                      'test_dataloader')]


def train_and_test(work_dir: str, seed: int, amp: bool, data_root: str,
                   threads: int = 1,
                   config: str = DEMO_CONFIG) -> Dict[str, float]:
    """Train the demo config once and test its last checkpoint.

    Returns:
        dict: ``war``, ``uar`` (percent, test split), ``train_s``.
    """
    os.makedirs(work_dir, exist_ok=True)
    log = osp.join(work_dir, 'run.log')
    opts = _data_opts(data_root) + [f'randomness.seed={seed}']
    py = sys.executable
    train_s = _run([py, 'tools/train.py', config, '--work-dir', work_dir,
                    '--threads', str(threads)] + (['--amp'] if amp else []) +
                   ['--cfg-options'] + opts, threads, log)
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        ckpt = f.read().strip()
    out = osp.join(work_dir, 'test_metrics.json')
    _run([py, 'tools/test.py', config, ckpt, '--work-dir',
          osp.join(work_dir, 'test'), '--out', out, '--out-item', 'metrics',
          '--threads', str(threads), '--trust-checkpoint', '--cfg-options'] +
         _data_opts(data_root), threads, log)
    with open(out) as f:
        metrics = json.load(f)
    return dict(war=metrics['accuracy/top1'],
                uar=metrics['single-label/recall'], train_s=train_s,
                checkpoint=ckpt)


def amp_parity(work_root: str, seeds: Sequence[int], data_root: str,
               threads: int = 1, config: str = DEMO_CONFIG,
               log=print, amp: bool = True) -> Dict:
    """fp32 vs ``--amp`` (bf16 on CPU) demo accuracy, paired by seed.

    With ``amp=False`` only the fp32 runs are made (no ``amp`` entry, no
    paired differences).

    Args:
        work_root (str): Folder of the runs (``{fp32,amp}_seed{s}``).
        seeds (Sequence[int]): Training seeds (data fixed).
        data_root (str): The demo faces (:func:`ensure_demo_data`).
        threads (int): CPU threads per run. Defaults to 1.
        config (str): The demo config. Defaults to :data:`DEMO_CONFIG`.
        log (callable): Progress printer.

    Returns:
        dict: Per mode ``war``/``uar``/``train_s`` lists, the paired
        ``war_diff``/``uar_diff`` (amp - fp32) summaries, the fp32 seed-0
        checkpoint and the tiny CLIP's sha256.
    """
    runs = {'fp32': [], 'amp': []} if amp else {'fp32': []}
    for seed in seeds:
        for mode in runs:
            log(f'demo world: {mode} training, seed {seed}')
            runs[mode].append(train_and_test(
                osp.join(work_root, f'{mode}_seed{seed}'), seed,
                mode == 'amp', data_root, threads, config))
    out = {mode: {k: [r[k] for r in rs] for k in ('war', 'uar', 'train_s')}
           for mode, rs in runs.items()}
    out['seeds'] = list(seeds)
    if amp:
        out['war_diff'] = paired_summary(out['fp32']['war'],
                                         out['amp']['war'])
        out['uar_diff'] = paired_summary(out['fp32']['uar'],
                                         out['amp']['uar'])
        out['train_time_ratio'] = statistics.median(
            a / f for a, f in zip(out['amp']['train_s'],
                                  out['fp32']['train_s']))
    out['fp32_checkpoint'] = runs['fp32'][0]['checkpoint']
    out['clip_sha256'] = demo_clip_sha256(config)
    return out


def demo_clip_sha256(config: str = DEMO_CONFIG) -> str:
    """sha256 of the tiny CLIP weights the demo config loads."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(ROOT, config))
    path = cfg.model.clip.pretrained
    return sha256(path if osp.isabs(path) else osp.join(ROOT, path))


def onnx_accuracy(checkpoint: str, data_root: str, folder: str,
                  threads: int = 1, config: str = DEMO_CONFIG,
                  batch_size: int = 50) -> Dict:
    """Test-split WAR/UAR of PyTorch, fp32 ONNX and int8 ONNX.

    The images go through the config's test pipeline and the model's data
    preprocessor; the ONNX graphs take the RGB 0-255 crop (rebuilt from
    the normalised tensor), so all three see the same pixels.

    Returns:
        dict: Per backend ``war``/``uar``; ``int8_war_delta`` (int8 -
        fp32 ONNX, points), ``int8_top1_agreement`` and file sizes.
    """
    import numpy as np
    import torch
    from mmengine.config import Config
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import DATASETS

    from ..apis import export_onnx, init_mpa_model, ort_session, quantize_onnx
    os.makedirs(folder, exist_ok=True)
    cfg = Config.fromfile(osp.join(ROOT, config))
    cfg.merge_from_dict({o.split('=')[0]: data_root
                         for o in _data_opts(data_root)})
    os.environ.setdefault('MPA_FER_TRUST_CHECKPOINTS', '1')
    model = init_mpa_model(cfg, checkpoint).eval()
    fp32 = export_onnx(model, osp.join(folder, 'demo.onnx'))
    int8 = quantize_onnx(fp32, osp.join(folder, 'demo.int8.onnx'))
    sessions = {n: ort_session(f, threads)
                for n, f in (('onnx fp32', fp32), ('onnx int8', int8))}
    init_default_scope('mmpretrain')
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    pre = model.data_preprocessor
    preds = {'pytorch': [], 'onnx fp32': [], 'onnx int8': []}
    labels = []
    with torch.no_grad():
        for i in range(0, len(dataset), batch_size):
            data = pre(pseudo_collate([dataset[j] for j in range(
                i, min(i + batch_size, len(dataset)))]), False)
            x = data['inputs']
            labels += [int(d.gt_label) for d in data['data_samples']]
            preds['pytorch'] += model(x, mode='tensor').argmax(-1).tolist()
            rgb = (x * pre.std + pre.mean).numpy().astype(np.float32)
            for name, session in sessions.items():
                logits = session.run(None, {'image': rgb})[0]
                preds[name] += logits.argmax(-1).tolist()
    labels_np = np.array(labels)
    out = {}
    for name, p in preds.items():
        p = np.array(p)
        recalls = [float((p[labels_np == c] == c).mean())
                   for c in np.unique(labels_np)]
        out[name] = dict(war=100 * float((p == labels_np).mean()),
                         uar=100 * float(np.mean(recalls)))
    out['int8_war_delta'] = out['onnx int8']['war'] - out['onnx fp32']['war']
    out['int8_uar_delta'] = out['onnx int8']['uar'] - out['onnx fp32']['uar']
    out['int8_top1_agreement'] = float(
        (np.array(preds['onnx int8']) == np.array(preds['onnx fp32'])).mean())
    out['bytes'] = {'fp32': osp.getsize(fp32), 'int8': osp.getsize(int8)}
    out['num_images'] = len(labels)
    return out


def run_demo_checks(work_root: str, seeds: Sequence[int],
                    threads: int = 1, data_root: Optional[str] = None,
                    config: str = DEMO_CONFIG, log=print,
                    amp: bool = False) -> Dict:
    """fp32 demo runs over ``seeds`` (and their ``--amp`` twins with
    ``amp``), then the int8 ONNX accuracy of the first fp32 run."""
    data_root = ensure_demo_data(data_root or osp.join(work_root, 'faces'))
    res = dict(config=config, amp=amp_parity(work_root, seeds, data_root,
                                             threads, config, log, amp))
    log('demo world: ONNX fp32 / int8 accuracy')
    res['onnx'] = onnx_accuracy(res['amp']['fp32_checkpoint'], data_root,
                                osp.join(work_root, 'onnx'), threads,
                                config)
    res['data_root'] = data_root
    return res
