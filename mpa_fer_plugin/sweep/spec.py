"""Sweep files: loading, checking and expanding them into runs.

A sweep file is an mmengine-style Python config (``configs/sweeps/``)::

    work_dir = 'work_dirs/sweeps/demo_ablation'  # one sub-dir per run
    seeds = [0, 1, 2]
    selection = 'last'        # 'last' | 'val' | 'test' (see SELECTIONS)
    val_fraction = 0.1        # selection='val': stratified carve of train
    reference = 'CoOp'        # paired differences are taken against it
    metrics = dict(WAR='accuracy/top1', UAR='single-label/recall')
    launcher = dict(type='single')  # | dict(type='dist', gpus=8)
                                    # | dict(type='slurm', partition='p',
                                    #        gpus=8)  (prints commands)
    threads = 1               # CPU threads of every run (None: unset)
    epochs = None             # training epochs (None: the config's); the
                              # cosine schedule is stretched to match
    cfg_options = dict()      # applied to every run
    prepare = [dict(cmd=['python', 'tools/x.py'], creates='data/x')]
    datasets = dict(rafdb=dict(cfg_options=dict(...)))  # default: one
    rows = [
        dict(name='CoOp', config='configs/demo_ablation/coop.py',
             cfg_options=dict(...), note='baseline'),
        dict(name='zero-shot', config='...', train=False),  # test only
        dict(name='RAF->FERPlus', config='...', train=False,
             checkpoint_from='CoOp'),  # test the checkpoint of that row
    ]

Every run is ``row x dataset x seed`` (rows with ``train=False`` and no
``checkpoint_from`` do not depend on the seed and run once per dataset).
"""
import copy
import os.path as osp
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

#: Model-selection rules: the checkpoint that is tested at the end.
SELECTIONS = {
    'last': 'last epoch',
    'val': 'best epoch on a validation split carved from train',
    'test': 'best epoch on the test split (common FER practice; '
            'optimistic)',
}

#: Keys a sweep file may set.
SWEEP_KEYS = ('work_dir', 'seeds', 'selection', 'val_fraction', 'val_seed',
              'val_interval', 'selection_metric', 'reference', 'metrics',
              'launcher', 'threads', 'cfg_options', 'prepare', 'datasets',
              'rows', 'title', 'epochs')
#: Keys a row may set.
ROW_KEYS = ('name', 'config', 'cfg_options', 'train', 'checkpoint',
            'checkpoint_from', 'note', 'selection', 'seeds', 'datasets',
            'epochs')
#: Keys a dataset entry may set.
DATASET_KEYS = ('cfg_options', 'data_config', 'note', 'epochs')

DEFAULT_METRICS = {
    'WAR': 'accuracy/top1',
    'UAR': 'single-label/recall',
    'F1': 'single-label/f1-score',
}


def slug(text: str) -> str:
    """A file-name-safe form of a row or dataset name."""
    out = re.sub(r'[^A-Za-z0-9.+-]+', '_', str(text)).strip('_')
    return out or 'x'


@dataclass
class RunSpec:
    """One run of a sweep (a row on a dataset with a seed)."""

    row: str
    dataset: str
    seed: Optional[int]
    config: str
    cfg_options: Dict[str, Any]
    train: bool
    selection: str
    work_dir: str
    checkpoint: Optional[str] = None
    checkpoint_from: Optional[str] = None
    data_config: Optional[str] = None
    epochs: Optional[int] = None

    @property
    def run_id(self) -> str:
        """``row__dataset__seedN`` (file-name safe)."""
        seed = 'noseed' if self.seed is None else f'seed{self.seed}'
        return f'{slug(self.row)}__{slug(self.dataset)}__{seed}'


@dataclass
class SweepSpec:
    """A loaded sweep file."""

    path: str
    work_dir: str
    seeds: List[int]
    selection: str
    rows: List[dict]
    datasets: Dict[str, dict]
    reference: Optional[str] = None
    metrics: Dict[str, str] = field(
        default_factory=lambda: dict(DEFAULT_METRICS))
    val_fraction: float = 0.1
    val_seed: int = 0
    val_interval: Optional[int] = None
    selection_metric: str = 'accuracy/top1'
    launcher: Dict[str, Any] = field(
        default_factory=lambda: dict(type='single'))
    threads: Optional[int] = None
    cfg_options: Dict[str, Any] = field(default_factory=dict)
    prepare: List[dict] = field(default_factory=list)
    title: str = ''
    epochs: Optional[int] = None

    @property
    def name(self) -> str:
        """The sweep's name (its file name without ``.py``)."""
        return osp.splitext(osp.basename(self.path))[0]

    def runs(self) -> List[RunSpec]:
        """Expand rows x datasets x seeds into runs, in execution order.

        Rows that others test (``checkpoint_from``) come first, so their
        checkpoints exist when the dependent rows run.
        """
        needed = {r.get('checkpoint_from') for r in self.rows}
        order = sorted(self.rows, key=lambda r: r['name'] not in needed)
        runs = []
        for row in order:
            seeded = row.get('train', True) or row.get('checkpoint_from')
            seeds = row.get('seeds', self.seeds) if seeded else [None]
            names = row.get('datasets') or list(self.datasets)
            for ds_name in names:
                ds = self.datasets[ds_name]
                for seed in seeds:
                    opts = copy.deepcopy(self.cfg_options)
                    opts.update(copy.deepcopy(ds.get('cfg_options') or {}))
                    opts.update(copy.deepcopy(row.get('cfg_options') or {}))
                    opts = _substitute(opts, seed, self.work_dir)
                    spec = RunSpec(
                        row=row['name'], dataset=ds_name, seed=seed,
                        config=row['config'], cfg_options=opts,
                        train=bool(row.get('train', True)),
                        selection=row.get('selection', self.selection),
                        work_dir='', checkpoint=row.get('checkpoint'),
                        checkpoint_from=row.get('checkpoint_from'),
                        data_config=ds.get('data_config'),
                        epochs=row.get('epochs') or ds.get('epochs')
                        or self.epochs)
                    spec.work_dir = osp.join(self.work_dir, spec.run_id)
                    runs.append(spec)
        return runs


def _substitute(value, seed: Optional[int], sweep_dir: str):
    """Fill ``{seed}`` and ``{sweep_dir}`` in option values (``'{seed}'``
    alone becomes the int seed)."""
    if isinstance(value, dict):
        return {k: _substitute(v, seed, sweep_dir) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, seed, sweep_dir) for v in value]
    if isinstance(value, str) and '{' in value:
        if value == '{seed}':
            return seed
        if '{seed}' in value or '{sweep_dir}' in value:
            return value.replace('{seed}', str(seed)).replace(
                '{sweep_dir}', sweep_dir)
    return value


def _fail(path: str, msg: str):
    raise ValueError(f'sweep file {path}: {msg}')


def _check_keys(path: str, where: str, given, allowed) -> None:
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        _fail(path, f'{where}: unknown key(s) {unknown}; allowed: '
              f'{list(allowed)}')


def load_sweep(path: str, work_dir: Optional[str] = None,
               root: Optional[str] = None) -> SweepSpec:
    """Load and check a sweep file.

    Args:
        path (str): The sweep file.
        work_dir (str, optional): Overrides the file's ``work_dir``.
        root (str, optional): Directory that relative row configs are
            resolved against (default: the current directory).

    Returns:
        SweepSpec: The sweep.
    """
    from mmengine.config import Config
    if not osp.isfile(path):
        raise FileNotFoundError(f'sweep file not found: {path}')
    cfg = Config.fromfile(path).to_dict()
    cfg = {k: v for k, v in cfg.items() if not k.startswith('_')}
    _check_keys(path, 'top level', cfg, SWEEP_KEYS)
    rows = cfg.get('rows')
    if not rows or not isinstance(rows, (list, tuple)):
        _fail(path, '`rows` must be a non-empty list of dicts')
    root = root or '.'
    names = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or 'name' not in row or \
                'config' not in row:
            _fail(path, f'rows[{i}] must be a dict with name and config, '
                  f'got {row!r}')
        _check_keys(path, f'row {row["name"]!r}', row, ROW_KEYS)
        if row['name'] in names:
            _fail(path, f'duplicate row name {row["name"]!r}')
        names.append(row['name'])
        cfg_path = row['config']
        if not osp.isabs(cfg_path) and not osp.isfile(cfg_path):
            cfg_path = osp.join(root, cfg_path)
        if not osp.isfile(cfg_path):
            _fail(path, f'row {row["name"]!r}: config {row["config"]!r} '
                  'not found')
        row['config'] = cfg_path
        sel = row.get('selection')
        if sel is not None and sel not in SELECTIONS:
            _fail(path, f'row {row["name"]!r}: selection {sel!r} not in '
                  f'{list(SELECTIONS)}')
    for row in rows:
        src = row.get('checkpoint_from')
        if src is not None:
            if src not in names:
                _fail(path, f'row {row["name"]!r}: checkpoint_from {src!r} '
                      f'is not a row ({names})')
            if row.get('train', True):
                _fail(path, f'row {row["name"]!r}: checkpoint_from needs '
                      'train=False')
    datasets = cfg.get('datasets') or {'default': {}}
    for name, ds in datasets.items():
        _check_keys(path, f'dataset {name!r}', ds, DATASET_KEYS)
    for row in rows:
        for name in row.get('datasets') or []:
            if name not in datasets:
                _fail(path, f'row {row["name"]!r}: unknown dataset {name!r}'
                      f' ({list(datasets)})')
    selection = cfg.get('selection', 'val')
    if selection not in SELECTIONS:
        _fail(path, f'selection {selection!r} not in {list(SELECTIONS)}')
    reference = cfg.get('reference')
    if reference is not None and reference not in names:
        _fail(path, f'reference {reference!r} is not a row ({names})')
    seeds = list(cfg.get('seeds', [0]))
    if not seeds or not all(isinstance(s, int) for s in seeds):
        _fail(path, f'seeds must be a non-empty list of ints, got {seeds}')
    launcher = dict(cfg.get('launcher') or dict(type='single'))
    if launcher.get('type') not in ('single', 'dist', 'slurm'):
        _fail(path, f"launcher type {launcher.get('type')!r} not in "
              "('single', 'dist', 'slurm')")
    if work_dir is None:
        work_dir = cfg.get('work_dir') or osp.join(
            'work_dirs', 'sweeps', osp.splitext(osp.basename(path))[0])
    return SweepSpec(
        path=path, work_dir=work_dir, seeds=seeds, selection=selection,
        rows=list(rows), datasets=dict(datasets), reference=reference,
        metrics=dict(cfg.get('metrics') or DEFAULT_METRICS),
        val_fraction=float(cfg.get('val_fraction', 0.1)),
        val_seed=int(cfg.get('val_seed', 0)),
        val_interval=cfg.get('val_interval'),
        selection_metric=cfg.get('selection_metric', 'accuracy/top1'),
        launcher=launcher, threads=cfg.get('threads'),
        cfg_options=dict(cfg.get('cfg_options') or {}),
        prepare=list(cfg.get('prepare') or []), title=cfg.get('title', ''),
        epochs=cfg.get('epochs'))
