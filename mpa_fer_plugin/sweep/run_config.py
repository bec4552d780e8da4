"""Build the config of one sweep run (written into its work dir).

The row's config is loaded, the dataset's and the row's ``cfg_options`` are
merged, and the sweep sets what makes the run one cell of the table: the
seed, the work dir, the model selection (and the validation split it
needs) and :class:`~mpa_fer_plugin.sweep.SweepFinalTestHook`, which tests
the selected checkpoint inside the ``tools/train.py`` process (one process
per run). The result is dumped as ``run_config.py``, so every run can be
repeated by hand with the real tools.
"""
import copy
import os.path as osp
from typing import Optional

from .spec import RunSpec, SweepSpec

#: File the final test (or ``tools/test.py``) writes into a run's work dir.
RESULT_FILE = 'sweep_result.json'
#: The run's config, dumped by :func:`write_run_config`.
CONFIG_FILE = 'run_config.py'


def _use_data_config(cfg, data_config: str) -> None:
    """Take the dataloaders, evaluators and class count of a data config."""
    from mmengine.config import Config
    data = Config.fromfile(data_config)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader',
                'val_evaluator', 'test_evaluator'):
        if key in data:
            cfg[key] = copy.deepcopy(data[key])
    if 'num_classes' in data and 'data_preprocessor' in cfg.get('model', {}):
        cfg.model.data_preprocessor.num_classes = data.num_classes


def set_epochs(cfg, epochs: int) -> None:
    """Train for ``epochs`` and fit the epoch-based LR schedule to it.

    Schedulers that would start at or after the new end are dropped; a
    ``CosineAnnealingLR`` gets ``T_max = epochs - begin`` (as the demo
    configs set it), and ``end`` values beyond the new end are clipped.
    """
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f'epochs={epochs!r} must be an int >= 1')
    cfg.train_cfg.max_epochs = epochs
    scheds = cfg.get('param_scheduler') or []
    if isinstance(scheds, dict):
        scheds = [scheds]
    kept = []
    for sched in scheds:
        begin = sched.get('begin', 0)
        if begin >= epochs:
            continue
        if sched.get('end') is not None and sched['end'] > epochs:
            sched['end'] = epochs
        if sched.get('type') == 'CosineAnnealingLR':
            sched['T_max'] = max(1, epochs - begin)
        kept.append(sched)
    cfg.param_scheduler = kept


def _carve_validation(cfg, spec: RunSpec, sweep: SweepSpec) -> None:
    """Validate on a stratified part of train held out from training."""
    from ..engine.prototypes import with_test_pipeline
    train_ds = copy.deepcopy(cfg.train_dataloader.dataset)
    test_ds = cfg.test_dataloader.dataset
    pipeline = test_ds.get('pipeline')
    if pipeline is None:
        raise ValueError(f'{spec.config}: selection=val needs '
                         'test_dataloader.dataset.pipeline')
    carve = dict(type='HoldoutSplit', val_fraction=sweep.val_fraction,
                 seed=sweep.val_seed)
    cfg.train_dataloader.dataset = dict(carve, dataset=train_ds,
                                        part='train')
    val_ds = with_test_pipeline(train_ds, pipeline)
    val_loader = copy.deepcopy(cfg.test_dataloader)
    val_loader.dataset = dict(carve, dataset=val_ds, part='val',
                              test_mode=True)
    cfg.val_dataloader = val_loader
    # the config's validation metrics (a protocol's test-only metric, e.g.
    # base-to-novel, does not apply to a carve of the training classes)
    cfg.val_evaluator = copy.deepcopy(cfg.get('val_evaluator')
                                      or cfg.test_evaluator)
    cfg.val_cfg = cfg.get('val_cfg') or dict()


def build_run_config(spec: RunSpec, sweep: SweepSpec,
                     checkpoint: Optional[str] = None):
    """Return the mmengine Config of one run.

    Args:
        spec (RunSpec): The run.
        sweep (SweepSpec): Its sweep (selection settings).
        checkpoint (str, optional): For test-only rows, the checkpoint
            tested (recorded in the config's ``load_from``).

    Returns:
        mmengine.Config: The run's config.
    """
    from mmengine.config import Config
    cfg = Config.fromfile(spec.config)
    if spec.data_config:
        _use_data_config(cfg, spec.data_config)
    if spec.cfg_options:
        cfg.merge_from_dict(copy.deepcopy(spec.cfg_options))
    if spec.epochs and spec.train:
        set_epochs(cfg, spec.epochs)
    cfg.work_dir = osp.abspath(spec.work_dir)
    if spec.seed is not None:
        cfg.randomness = dict(cfg.get('randomness') or {}, seed=spec.seed)
    imports = dict(cfg.get('custom_imports') or dict(imports=[]))
    names = list(imports.get('imports', []))
    for name in ('mpa_fer_plugin', 'mpa_fer_plugin.sweep'):
        if name not in names:
            names.append(name)
    cfg.custom_imports = dict(imports, imports=names,
                              allow_failed_imports=False)
    if not spec.train:
        cfg.load_from = checkpoint
        return cfg

    max_epochs = cfg.train_cfg.max_epochs
    ckpt = dict(cfg.default_hooks.get('checkpoint') or
                dict(type='CheckpointHook'))
    if spec.selection == 'last':
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
        ckpt.update(interval=max_epochs, max_keep_ckpts=1, save_best=None)
    else:
        if spec.selection == 'val':
            _carve_validation(cfg, spec, sweep)
        else:  # 'test': validate on the test split
            cfg.val_dataloader = copy.deepcopy(cfg.test_dataloader)
            cfg.val_evaluator = copy.deepcopy(cfg.test_evaluator)
            cfg.val_cfg = cfg.get('val_cfg') or dict()
        if sweep.val_interval:
            cfg.train_cfg.val_interval = sweep.val_interval
        ckpt.update(interval=max_epochs, max_keep_ckpts=1,
                    save_best=sweep.selection_metric, rule='greater')
    cfg.default_hooks.checkpoint = ckpt
    hooks = [h for h in cfg.get('custom_hooks', [])
             if h.get('type') != 'SweepFinalTestHook']
    hooks.append(dict(type='SweepFinalTestHook', out_file=RESULT_FILE,
                      selection=spec.selection,
                      metric=sweep.selection_metric))
    cfg.custom_hooks = hooks
    return cfg


def write_run_config(spec: RunSpec, sweep: SweepSpec,
                     checkpoint: Optional[str] = None) -> str:
    """Build the run's config and dump it into its work dir.

    Returns:
        str: The path of the dumped config.
    """
    import os
    cfg = build_run_config(spec, sweep, checkpoint)
    os.makedirs(spec.work_dir, exist_ok=True)
    path = osp.join(spec.work_dir, CONFIG_FILE)
    cfg.dump(path)
    return path
