"""Run a sweep: every run through the real tools, in its own work dir.

Each run is one subprocess: ``tools/train.py`` (which also runs the final
test through :class:`~mpa_fer_plugin.sweep.SweepFinalTestHook`), or
``tools/test.py`` for rows that only test (zero-shot, or the checkpoint of
another row). ``launcher.type='dist'`` uses ``tools/dist_train.sh`` /
``dist_test.sh`` with N processes; ``'slurm'`` only prints (and writes) the
``tools/slurm_*.sh`` commands, whose results ``--collect`` reads later.

A run is reused only when its recorded definition (see
:mod:`~mpa_fer_plugin.sweep.identity`: the resolved config, seed, epochs,
selection, checkpoint and data fingerprints) equals the current one and
its result file is readable. A killed sweep resumes where it stopped (an
interrupted training run of the same definition resumes from its latest
checkpoint with ``--resume``); an unreadable result is redone with a
warning naming the file; a run whose definition changed is redone from
scratch (its old files are moved aside; ``on_change='rerun'``), kept
aside and not counted (``'keep'``), or the sweep refuses to start
(``'refuse'``). A failed run is recorded with its exit code, log file and
error line and the sweep goes on.
"""
import json
import os
import os.path as osp
import shlex
import shutil
import subprocess
import sys
import time
from typing import Dict, List, Optional

from .hooks import write_json_atomic
from .identity import Fingerprints, build_definition, run_state
from .run_config import CONFIG_FILE, RESULT_FILE, build_run_config
from .spec import RunSpec, SweepSpec

#: Written next to the result: the run's definition hash and command.
META_FILE = 'sweep_run.json'
#: Stdout and stderr of the run's subprocess.
LOG_FILE = 'sweep_run.log'
#: Where the files of runs whose definition changed are moved.
REPLACED_DIR = '_replaced'
#: What to do with a run whose definition changed.
ON_CHANGE = ('rerun', 'keep', 'refuse')


class SweepRefused(RuntimeError):
    """Runs changed and the sweep was told to refuse (``'refuse'``)."""


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


def identify(spec: RunSpec, sweep: SweepSpec, runs: List[RunSpec],
             fps: Fingerprints) -> dict:
    """The current definition of a run, its config and state.

    Returns:
        dict: ``checkpoint`` (tested by a test-only run), ``cfg`` (the
        resolved mmengine Config), ``definition``, ``resolved`` (the
        flattened config), ``state`` and ``detail`` (see
        :func:`~mpa_fer_plugin.sweep.identity.run_state`); or ``state=
        'error'`` and ``detail`` when the config cannot be built.
    """
    checkpoint = spec.checkpoint
    if spec.checkpoint_from:
        checkpoint = _source_checkpoint(spec, runs)
        if checkpoint is None:
            return dict(state='error', checkpoint=None, detail=(
                f'no checkpoint from row {spec.checkpoint_from!r} (seed '
                f'{spec.seed}, dataset {spec.dataset}): that run has not '
                'finished'))
    ckpt_fp = None
    if checkpoint and osp.isfile(osp.join(repo_root(), checkpoint)):
        ckpt_fp = fps.file(osp.join(repo_root(), checkpoint))
    cache_key = (spec.run_id, spec.config, checkpoint, ckpt_fp,
                 json.dumps(spec.cfg_options, sort_keys=True, default=repr),
                 spec.epochs, spec.selection, spec.data_config)
    try:
        if cache_key not in fps.definitions:
            cfg = build_run_config(spec, sweep, checkpoint)
            fps.definitions[cache_key] = (cfg, *build_definition(
                cfg, spec, checkpoint, repo_root(), sweep.work_dir, fps))
        cfg, definition, resolved = fps.definitions[cache_key]
    except Exception as exc:  # noqa: BLE001  (recorded, the sweep goes on)
        return dict(state='error', checkpoint=checkpoint,
                    detail=f'the config of this run cannot be built: '
                    f'{type(exc).__name__}: {str(exc)[:500]}')
    state, detail = run_state(spec.work_dir, META_FILE, RESULT_FILE,
                              definition, resolved)
    return dict(checkpoint=checkpoint, cfg=cfg, definition=definition,
                resolved=resolved, state=state, detail=detail)


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


def move_aside(spec: RunSpec, sweep: SweepSpec) -> str:
    """Move a run's files to ``<sweep>/_replaced/<run>.<time>``."""
    dest = osp.join(sweep.work_dir, REPLACED_DIR,
                    f'{spec.run_id}.{time.strftime("%Y%m%d-%H%M%S")}')
    base, k = dest, 1
    while osp.exists(dest):
        dest, k = f'{base}-{k}', k + 1
    os.makedirs(osp.dirname(dest), exist_ok=True)
    shutil.move(spec.work_dir, dest)
    return dest


def run_one(spec: RunSpec, sweep: SweepSpec, runs: List[RunSpec],
            ident: Optional[dict] = None) -> dict:
    """Run one run; return its status record (not raising on failure)."""
    ident = ident or identify(spec, sweep, runs, Fingerprints())
    if ident['state'] == 'error':
        return dict(status='failed', returncode=None, log=None,
                    error=ident['detail'])
    checkpoint = ident['checkpoint']
    os.makedirs(spec.work_dir, exist_ok=True)
    config = osp.join(spec.work_dir, CONFIG_FILE)
    ident['cfg'].dump(config)
    cmd = build_command(spec, sweep, config, checkpoint)
    log = osp.join(spec.work_dir, LOG_FILE)
    meta = dict(key=ident['definition']['key'], command=shlex.join(cmd),
                row=spec.row, dataset=spec.dataset, seed=spec.seed,
                checkpoint=checkpoint,
                started=time.strftime('%Y-%m-%dT%H:%M:%S'),
                definition=ident['definition'], resolved=ident['resolved'])
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
        with open(log, errors='replace') as f:
            tail = (f.read().strip().splitlines()[-1:] or [''])[0][-300:]
        if proc.returncode == 0:
            error = f'exit 0 but no result file {result_path} ' \
                    f'(last log line: {tail or "none"})'
        else:
            error = tail or f'exit {proc.returncode} with an empty log'
        meta.update(failed=error, returncode=proc.returncode)
        write_json_atomic(osp.join(spec.work_dir, META_FILE), meta)
        return dict(status='failed', returncode=proc.returncode, log=log,
                    seconds=seconds, error=error)
    meta.update(seconds=seconds, finished=time.strftime('%Y-%m-%dT%H:%M:%S'))
    write_json_atomic(osp.join(spec.work_dir, META_FILE), meta)
    return dict(status='done', seconds=seconds, log=log)


def _refuse_changed(todo: List[RunSpec], sweep: SweepSpec,
                    runs: List[RunSpec], fps: Fingerprints) -> None:
    changed = []
    for spec in todo:
        ident = identify(spec, sweep, runs, fps)
        if ident['state'] == 'changed':
            changed.append(f'  {spec.run_id}: {ident["detail"]}')
    if changed:
        raise SweepRefused(
            'the definition of these runs changed since their results were '
            'recorded:\n' + '\n'.join(changed) + '\nPass --rerun-changed '
            'to redo them (old files are moved to '
            f'{osp.join(sweep.work_dir, REPLACED_DIR)}) or --keep to leave '
            'them as they are (not counted in the tables).')


def run_sweep(sweep: SweepSpec, only: Optional[List[str]] = None,
              dry_run: bool = False, on_change: str = 'rerun',
              fps: Optional[Fingerprints] = None) -> Dict[str, dict]:
    """Run (or resume) a sweep; return a status record per run id.

    The caller holds the work dir's :class:`~mpa_fer_plugin.sweep.lock.
    SweepLock` (``tools/sweep.py`` does).

    Args:
        sweep (SweepSpec): The sweep.
        only (list[str], optional): Run only these rows (plus nothing
            else; a ``checkpoint_from`` row must be finished already).
        dry_run (bool): Print the commands without running anything.
        on_change (str): A run whose definition changed since its files
            were written is redone from scratch (``'rerun'``, its old
            files moved to ``_replaced/``), left alone and reported as
            ``'stale'`` (``'keep'``), or nothing runs and
            :class:`SweepRefused` names the changed runs (``'refuse'``).
        fps (Fingerprints, optional): A cache to share with
            :func:`~.results.collect_results` in the same process.

    Returns:
        dict[str, dict]: ``run_id -> {'status': 'done' | 'skipped' |
        'failed' | 'stale' | 'printed', ...}``.
    """
    if on_change not in ON_CHANGE:
        raise ValueError(f'on_change={on_change!r} not in {ON_CHANGE}')
    runs = sweep.runs()
    todo = [r for r in runs if only is None or r.row in only]
    fps = fps or Fingerprints()
    os.makedirs(sweep.work_dir, exist_ok=True)
    if not dry_run:
        prepare(sweep)
    if on_change == 'refuse':
        _refuse_changed(todo, sweep, runs, fps)
    status: Dict[str, dict] = {}
    slurm = sweep.launcher.get('type') == 'slurm'
    start, executed = time.time(), 0
    lines = []
    for k, spec in enumerate(todo, 1):
        tag = f'[{k}/{len(todo)}] {spec.row} | {spec.dataset} | seed ' \
              f'{spec.seed}'
        ident = identify(spec, sweep, runs, fps)
        state, detail = ident['state'], ident['detail']
        if state == 'done':
            status[spec.run_id] = dict(status='skipped')
            print(f'{tag}: finished before, skipped (same definition)',
                  flush=True)
            continue
        if state == 'changed' and on_change == 'keep':
            status[spec.run_id] = dict(status='stale', error=detail)
            print(f'{tag}: definition changed ({detail}); kept as it is '
                  '(--keep), not counted', flush=True)
            continue
        if dry_run:
            cfg = osp.join(spec.work_dir, CONFIG_FILE)
            print(f'{tag}: ' + shlex.join(build_command(
                spec, sweep, cfg, spec.checkpoint)), flush=True)
            continue
        if state == 'changed':
            moved = move_aside(spec, sweep)
            print(f'{tag}: definition changed since its result was '
                  f'recorded ({detail}); redone from scratch (old files '
                  f'moved to {moved})', flush=True)
        elif state == 'corrupt':
            print(f'WARNING: {tag}: {detail}; the run is redone',
                  file=sys.stderr, flush=True)
            print(f'{tag}: {detail}; redone', flush=True)
            os.unlink(osp.join(spec.work_dir, RESULT_FILE))
        record = run_one(spec, sweep, runs, ident)
        status[spec.run_id] = record
        if slurm:
            lines.append(record.get('command')
                         or '# ' + record.get('error', ''))
            continue
        executed += 1
        elapsed = time.time() - start
        eta = elapsed / executed * (len(todo) - k)
        if record['status'] == 'done':
            result = read_json(osp.join(spec.work_dir, RESULT_FILE))
            war = result['metrics'].get('accuracy/top1')
            shown = f'WAR {war:.1f}' if isinstance(war, (int, float)) \
                else 'done'
            print(f'{tag}: {shown} ({record["seconds"]:.0f} s; elapsed '
                  f'{_fmt_time(elapsed)}, ETA <= {_fmt_time(eta)})',
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
