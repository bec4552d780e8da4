"""Run a sweep: every run through the real tools, in its own work dir.

Each run is one subprocess: ``tools/train.py`` (which also runs the final
test through :class:`~mpa_fer_plugin.sweep.SweepFinalTestHook`), or
``tools/test.py`` for rows that only test (zero-shot, or the checkpoint of
another row). ``launcher.type='dist'`` uses ``tools/dist_train.sh`` /
``dist_test.sh`` with N processes; ``'slurm'`` only prints (and writes) the
``tools/slurm_*.sh`` commands, whose results ``--collect`` reads later.

A run whose result file exists (for the same run definition) is skipped,
so a killed sweep resumes where it stopped (an interrupted training run
resumes from its latest checkpoint with ``--resume``); a failed run is
recorded with its exit code and log file and the sweep goes on.
"""
import json
import os
import os.path as osp
import shlex
import subprocess
import sys
import time
from typing import Dict, List, Optional

from .hooks import write_json_atomic
from .run_config import CONFIG_FILE, RESULT_FILE, write_run_config
from .spec import RunSpec, SweepSpec

#: Written next to the result: the run's definition hash and command.
META_FILE = 'sweep_run.json'
#: Stdout and stderr of the run's subprocess.
LOG_FILE = 'sweep_run.log'


def repo_root() -> str:
    """The repository root (where ``tools/`` lives)."""
    return osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def read_json(path: str) -> Optional[dict]:
    """Read a JSON file, or None if it is missing or unreadable."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def is_done(spec: RunSpec) -> bool:
    """Whether the run finished with the current definition."""
    meta = read_json(osp.join(spec.work_dir, META_FILE)) or {}
    return (osp.isfile(osp.join(spec.work_dir, RESULT_FILE))
            and meta.get('key') == spec.key())


def _tool_supports(tool: str, flag: str) -> bool:
    with open(osp.join(repo_root(), 'tools', tool)) as f:
        text = f.read()
    return flag in text or 'add_runtime_args' in text


def build_command(spec: RunSpec, sweep: SweepSpec, config: str,
                  checkpoint: Optional[str]) -> List[str]:
    """The command line of one run."""
    launcher = sweep.launcher
    kind = launcher.get('type', 'single')
    tool = 'train.py' if spec.train else 'test.py'
    args = [config]
    if not spec.train:
        args.append(checkpoint or 'none')
    args += ['--work-dir', spec.work_dir]
    if spec.train:
        args.append('--resume')
    else:
        args += ['--out', osp.join(spec.work_dir, 'test_metrics.json'),
                 '--out-item', 'metrics']
    if sweep.threads and _tool_supports(tool, '--threads'):
        args += ['--threads', str(sweep.threads)]
    if kind == 'single':
        return [sys.executable, osp.join('tools', tool)] + args
    script = ('dist_' if kind == 'dist' else 'slurm_') + \
        ('train.sh' if spec.train else 'test.sh')
    gpus = str(launcher.get('gpus', 1))
    if kind == 'dist':
        return ['bash', osp.join('tools', script), args[0]] + \
            ([args[1]] if not spec.train else []) + [gpus] + \
            args[2 if not spec.train else 1:]
    job = f'{sweep.name}-{spec.run_id}'
    part = launcher.get('partition', 'PARTITION')
    if spec.train:
        return ['bash', osp.join('tools', script), part, job, config,
                spec.work_dir, '--resume']
    return ['bash', osp.join('tools', script), part, job, config,
            checkpoint or 'none'] + args[2:]


def _env(sweep: SweepSpec) -> Dict[str, str]:
    env = dict(os.environ, HF_HUB_OFFLINE='1')
    env['PYTHONPATH'] = repo_root() + os.pathsep + env.get('PYTHONPATH', '')
    if sweep.threads:
        env['OMP_NUM_THREADS'] = str(sweep.threads)
        env['MKL_NUM_THREADS'] = str(sweep.threads)
    launcher = sweep.launcher
    if launcher.get('type') == 'slurm':
        env['GPUS'] = str(launcher.get('gpus', 1))
        if launcher.get('gpus_per_node'):
            env['GPUS_PER_NODE'] = str(launcher['gpus_per_node'])
    return env


def _source_checkpoint(spec: RunSpec, runs: List[RunSpec]) -> Optional[str]:
    """The checkpoint of the run a test-only row takes it from."""
    for other in runs:
        if other.row == spec.checkpoint_from and other.seed == spec.seed \
                and other.dataset == spec.dataset:
            result = read_json(osp.join(other.work_dir, RESULT_FILE))
            return (result or {}).get('checkpoint')
    return None


def prepare(sweep: SweepSpec) -> None:
    """Run the sweep's ``prepare`` commands whose output is missing."""
    for step in sweep.prepare:
        creates = step.get('creates')
        if creates and osp.exists(creates):
            print(f'prepare: {creates} exists, skipped', flush=True)
            continue
        cmd = [sys.executable if c == 'python' else c for c in step['cmd']]
        print('prepare: $ ' + shlex.join(cmd), flush=True)
        subprocess.run(cmd, check=True, cwd=repo_root(), env=_env(sweep))


def _fmt_time(seconds: float) -> str:
    seconds = int(seconds)
    return f'{seconds // 60}:{seconds % 60:02d}'


def run_one(spec: RunSpec, sweep: SweepSpec, runs: List[RunSpec]) -> dict:
    """Run one run; return its status record (not raising on failure)."""
    checkpoint = spec.checkpoint
    if spec.checkpoint_from:
        checkpoint = _source_checkpoint(spec, runs)
        if checkpoint is None:
            return dict(status='failed', returncode=None, log=None,
                        error=f'no checkpoint from row '
                        f'{spec.checkpoint_from!r} (seed {spec.seed}, '
                        f'dataset {spec.dataset}): that run has not '
                        'finished')
    config = write_run_config(spec, sweep, checkpoint)
    cmd = build_command(spec, sweep, config, checkpoint)
    log = osp.join(spec.work_dir, LOG_FILE)
    meta = dict(key=spec.key(), command=shlex.join(cmd), row=spec.row,
                dataset=spec.dataset, seed=spec.seed, checkpoint=checkpoint,
                started=time.strftime('%Y-%m-%dT%H:%M:%S'))
    write_json_atomic(osp.join(spec.work_dir, META_FILE), meta)
    if sweep.launcher.get('type') == 'slurm':
        env = _env(sweep)
        prefix = ' '.join(f'{k}={env[k]}' for k in ('GPUS', 'GPUS_PER_NODE')
                          if k in env)
        return dict(status='printed', command=f'{prefix} {meta["command"]}')
    start = time.time()
    with open(log, 'w') as f:
        f.write(f'$ {meta["command"]}\n')
        f.flush()
        proc = subprocess.run(cmd, cwd=repo_root(), env=_env(sweep),
                              stdout=f, stderr=subprocess.STDOUT)
    seconds = round(time.time() - start, 1)
    result_path = osp.join(spec.work_dir, RESULT_FILE)
    if proc.returncode == 0 and not spec.train:
        metrics = read_json(osp.join(spec.work_dir, 'test_metrics.json'))
        if metrics is not None:
            write_json_atomic(result_path, dict(
                metrics=metrics, selection='checkpoint' if checkpoint
                else 'none (not trained)', chosen_epoch=None,
                checkpoint=checkpoint, protocol=read_json(osp.join(
                    spec.work_dir, 'eval_classes.json'))))
    if proc.returncode != 0 or not osp.isfile(result_path):
        with open(log) as f:
            tail = f.read().strip().splitlines()[-1:] or ['']
        return dict(status='failed', returncode=proc.returncode, log=log,
                    seconds=seconds, error=tail[0][-300:])
    meta.update(seconds=seconds, finished=time.strftime('%Y-%m-%dT%H:%M:%S'))
    write_json_atomic(osp.join(spec.work_dir, META_FILE), meta)
    return dict(status='done', seconds=seconds, log=log)


def run_sweep(sweep: SweepSpec, only: Optional[List[str]] = None,
              dry_run: bool = False) -> Dict[str, dict]:
    """Run (or resume) a sweep; return a status record per run id.

    Args:
        sweep (SweepSpec): The sweep.
        only (list[str], optional): Run only these rows (plus nothing
            else; a ``checkpoint_from`` row must be finished already).
        dry_run (bool): Print the commands without running anything.

    Returns:
        dict[str, dict]: ``run_id -> {'status': 'done' | 'skipped' |
        'failed' | 'printed', ...}``.
    """
    runs = sweep.runs()
    todo = [r for r in runs if only is None or r.row in only]
    os.makedirs(sweep.work_dir, exist_ok=True)
    if not dry_run:
        prepare(sweep)
    status: Dict[str, dict] = {}
    slurm = sweep.launcher.get('type') == 'slurm'
    start, executed = time.time(), 0
    lines = []
    for k, spec in enumerate(todo, 1):
        tag = f'[{k}/{len(todo)}] {spec.row} | {spec.dataset} | seed ' \
              f'{spec.seed}'
        if is_done(spec):
            status[spec.run_id] = dict(status='skipped')
            print(f'{tag}: finished before, skipped', flush=True)
            continue
        if dry_run:
            cfg = osp.join(spec.work_dir, CONFIG_FILE)
            print(f'{tag}: ' + shlex.join(build_command(
                spec, sweep, cfg, spec.checkpoint)), flush=True)
            continue
        record = run_one(spec, sweep, runs)
        status[spec.run_id] = record
        if slurm:
            lines.append(record.get('command')
                         or '# ' + record.get('error', ''))
            continue
        executed += 1
        elapsed = time.time() - start
        left = sum(1 for r in todo[k:] if not is_done(r))
        eta = elapsed / executed * left
        if record['status'] == 'done':
            result = read_json(osp.join(spec.work_dir, RESULT_FILE))
            war = result['metrics'].get('accuracy/top1')
            shown = f'WAR {war:.1f}' if isinstance(war, (int, float)) \
                else 'done'
            print(f'{tag}: {shown} ({record["seconds"]:.0f} s; elapsed '
                  f'{_fmt_time(elapsed)}, ETA {_fmt_time(eta)})',
                  flush=True)
        else:
            print(f'{tag}: FAILED (exit {record["returncode"]}): '
                  f'{record["error"]} -- log: {record["log"]}', flush=True)
    if slurm:
        path = osp.join(sweep.work_dir, 'slurm_commands.sh')
        with open(path, 'w') as f:
            f.write('#!/bin/bash\n# written by tools/sweep.py; run '
                    'tools/sweep.py SWEEP --collect afterwards\n')
            f.write('\n'.join(lines) + '\n')
        print('\n'.join(lines))
        print(f'slurm commands written to {path}')
    failed = {k: v for k, v in status.items() if v['status'] == 'failed'}
    write_json_atomic(osp.join(sweep.work_dir, 'sweep_status.json'),
                      dict(status=status, failed=sorted(failed)))
    return status
