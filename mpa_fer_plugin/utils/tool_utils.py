"""Helpers shared by the command-line tools in ``tools/``.

* :func:`add_launch_args` / :func:`apply_launch_args`: ``--cfg-options``,
  ``--launcher`` and ``--local-rank`` of ``tools/train.py`` and
  ``tools/test.py`` (mmpretrain's flags);
* :func:`add_runtime_args` / :func:`apply_runtime_args`: ``--threads`` and
  ``--trust-checkpoint`` of every tool;
* :func:`set_default_dataloader_cfg`: CPU-safe dataloader defaults;
* :func:`enable_visualization`: ``--show`` / ``--show-dir`` with drawings
  upscaled to a legible size;
* :func:`fit_schedule_to_training`: a shortened training (``--cfg-options
  train_cfg.max_epochs=1``) keeps a valid ``param_scheduler``;
* :func:`check_image_config_order`: ``tools/infer.py CONFIG IMAGE CKPT``
  fails with the usage instead of a config parser's traceback;
  :func:`check_config_file`: the same for a config argument that is not a
  config file.
"""
import copy
import os
import os.path as osp
from typing import List, Optional

from mmengine.config import Config


def set_default_dataloader_cfg(cfg: Config,
                               field: str,
                               no_pin_memory: bool = False,
                               no_persistent_workers: bool = False,
                               recheck_only: bool = False) -> None:
    """Fill mmpretrain's dataloader defaults, CPU-safe.

    Like mmpretrain's tools, set ``collate_fn=default_collate`` and turn on
    ``persistent_workers``, but only when ``num_workers > 0`` (torch rejects
    it otherwise).

    Args:
        cfg (Config): The config, modified in place.
        field (str): e.g. ``'train_dataloader'``.
        no_pin_memory (bool): Force ``pin_memory=False``.
        no_persistent_workers (bool): Force ``persistent_workers=False``.
        recheck_only (bool): Only fix an invalid ``persistent_workers``.
    """
    loader = cfg.get(field, None)
    if loader is None:
        return
    workers = loader.get('num_workers', 0)
    if not recheck_only:
        loader.setdefault('persistent_workers', workers > 0)
        loader.setdefault('collate_fn', dict(type='default_collate'))
        if no_pin_memory:
            loader['pin_memory'] = False
        if no_persistent_workers:
            loader['persistent_workers'] = False
    if workers == 0 and loader.get('persistent_workers'):
        loader['persistent_workers'] = False


#: Environment variable that lets every loading path unpickle arbitrary
#: objects from checkpoints (trusted files only); set by
#: ``--trust-checkpoint``.
TRUST_ENV = 'MPA_FER_TRUST_CHECKPOINTS'

#: Threads per process for CPU runs when neither ``--threads`` nor
#: ``OMP_NUM_THREADS`` is given (see :func:`default_threads`).
DEFAULT_CPU_THREADS = 1


def add_runtime_args(parser) -> None:
    """Add the runtime flags every tool in ``tools/`` shares.

    ``--threads`` fixes the number of CPU threads (results on CPU depend
    on it); ``--trust-checkpoint`` opts in to full unpickling of
    checkpoint files.

    Args:
        parser (argparse.ArgumentParser): The tool's parser.
    """
    parser.add_argument(
        '--threads', type=int, default=None,
        help='CPU threads for torch/OpenMP per process; results on CPU '
        'depend on it. Default: OMP_NUM_THREADS if set, else '
        f"{DEFAULT_CPU_THREADS} without CUDA and torch's own choice with "
        'CUDA')
    parser.add_argument(
        '--trust-checkpoint', action='store_true',
        help='load checkpoints with full unpickling, which can run code '
        f'from the file (trusted files only; or set {TRUST_ENV}=1)')


def default_threads(cuda_available: Optional[bool] = None
                    ) -> Optional[int]:
    """The thread count a tool uses when ``--threads`` is not given.

    ``OMP_NUM_THREADS`` wins when it is set (torchrun sets it to 1 for
    multi-process runs). Otherwise, without CUDA, :data:`DEFAULT_CPU_THREADS`
    (a fixed count: CPU results do not then depend on the machine's core
    count, and a shared machine is not oversubscribed — measured in
    README "Training and testing"); with CUDA, None (torch's default).

    Args:
        cuda_available (bool, optional): Override the CUDA check (tests).

    Returns:
        int | None: Threads to set, or None to leave torch's default.
    """
    env = os.environ.get('OMP_NUM_THREADS', '').strip()
    if env:
        try:
            value = int(env)
        except ValueError:
            raise ValueError(
                f'OMP_NUM_THREADS={env!r} is not an integer') from None
        return value if value >= 1 else None
    if cuda_available is None:
        import torch
        cuda_available = torch.cuda.is_available()
    return None if cuda_available else DEFAULT_CPU_THREADS


def apply_runtime_args(args) -> Optional[int]:
    """Apply the flags of :func:`add_runtime_args` to this process.

    Sets ``OMP_NUM_THREADS`` and ``torch.set_num_threads`` to
    ``--threads``, or to :func:`default_threads` when it is not given.

    Args:
        args (argparse.Namespace): Parsed arguments.

    Returns:
        int | None: The thread count set (None: torch's default kept).
    """
    if getattr(args, 'trust_checkpoint', False):
        os.environ[TRUST_ENV] = '1'
    threads = getattr(args, 'threads', None)
    if threads is not None and threads < 1:
        raise ValueError(f'--threads={threads} must be >= 1')
    if threads is None:
        threads = default_threads()
    if threads is not None:
        import torch
        os.environ['OMP_NUM_THREADS'] = str(threads)
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
    return threads


def add_launch_args(parser) -> None:
    """Add ``--cfg-options``, ``--launcher`` and ``--local-rank``.

    The flags of mmpretrain's ``tools/train.py`` / ``tools/test.py``;
    :func:`apply_launch_args` exports ``LOCAL_RANK`` from them.

    Args:
        parser (argparse.ArgumentParser): The tool's parser.
    """
    from mmengine.config import DictAction
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override some settings in the used config, the key-value pair '
        'in xxx=yyy format will be merged into config file. If the value to '
        'be overwritten is a list, it should be like key="[a,b]" or key=a,b '
        'It also allows nested list/tuple values, e.g. key="[(a,b),(c,d)]" '
        'Note that the quotation marks are necessary and that no white space '
        'is allowed.')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # torch.distributed.launch passes --local-rank (torch>=2.0) or
    # --local_rank (older); accept both.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def apply_launch_args(args) -> None:
    """Export ``LOCAL_RANK`` from ``--local-rank`` unless a launcher set it.

    Args:
        args (argparse.Namespace): Parsed arguments of a parser given
            :func:`add_launch_args`.
    """
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)


#: Shorter side, in pixels, of the drawings ``--show-dir`` writes (FER
#: crops are 64-224 px; mmpretrain draws text at a fixed size).
SHOW_MIN_SIZE = 320


def enable_visualization(cfg: Config,
                         show: bool = False,
                         show_dir: Optional[str] = None,
                         interval: int = 1,
                         wait_time: float = 2,
                         min_size: int = SHOW_MIN_SIZE) -> None:
    """Turn on mmpretrain's ``VisualizationHook`` for ``tools/test.py``.

    Small faces are upscaled (``resize``: shorter side ``min_size``)
    before the labels are drawn, so the text stays legible.

    Args:
        cfg (Config): The config, modified in place.
        show (bool): Display each drawing in a window.
        show_dir (str, optional): Where to write the drawings.
        interval (int): Draw every ``interval``-th sample.
        wait_time (float): Display time of a window, in seconds.
        min_size (int): Shorter side of the drawing in pixels.
    """
    if min_size < 16:
        raise ValueError(f'min_size={min_size} must be >= 16')
    hooks = cfg.default_hooks
    if 'visualization' not in hooks:
        hooks.visualization = dict(type='VisualizationHook')
    vis = hooks.visualization
    vis.enable = True
    vis.show = show
    vis.wait_time = wait_time
    vis.out_dir = show_dir
    vis.interval = interval
    vis.resize = min_size


def fit_schedule_to_training(cfg: Config, log: bool = True) -> List[str]:
    """Fit ``param_scheduler`` to a training shortened by ``train_cfg``.

    mmengine's Runner gives every scheduler without ``end`` the end of
    training and refuses a scheduler whose ``end`` is not after its
    ``begin`` ("end should be larger than begin"). So a schedule written
    for 120 epochs (warm-up in epoch 0, cosine from epoch 1) fails with
    ``train_cfg.max_epochs=1``. Here a scheduler that begins at or after
    the end of training (it would never act) is left out, and an ``end``
    past the end of training is moved to it; each change is logged.
    Iteration-based schedulers (``by_epoch=False``) are compared with
    ``train_cfg.max_iters`` the same way.

    Args:
        cfg (Config): The merged config, changed in place.
        log (bool): Log each change (``print_log``, logger 'current').

    Returns:
        list[str]: One sentence per change (empty: nothing changed).
    """
    train_cfg = cfg.get('train_cfg') or {}
    schedule = cfg.get('param_scheduler')
    single = isinstance(schedule, dict) and 'type' in schedule
    if single:
        items = [schedule]
    elif isinstance(schedule, (list, tuple)):
        items = list(schedule)
    else:  # none, or one schedule per optimizer: left as written
        return []
    notes, kept = [], []
    for i, item in enumerate(items):
        by_epoch = item.get('by_epoch', True)
        key = 'max_epochs' if by_epoch else 'max_iters'
        limit = train_cfg.get(key)
        begin, end = item.get('begin', 0), item.get('end')
        name = f'param_scheduler[{i}] ({item.get("type")})'
        if not isinstance(limit, int) or isinstance(limit, bool):
            kept.append(item)
        elif begin >= limit:
            notes.append(f'{name} begins at {begin}, where training ends '
                         f'(train_cfg.{key}={limit}): left out')
        elif isinstance(end, (int, float)) and end > limit:
            item = copy.deepcopy(item)
            item['end'] = limit
            notes.append(f'{name} end {end} -> {limit} (train_cfg.{key}='
                         f'{limit})')
            kept.append(item)
        else:
            kept.append(item)
    if notes:
        cfg.param_scheduler = (kept[0] if kept else []) if single else kept
        if log:
            from mmengine.logging import print_log
            for note in notes:
                print_log(f'schedule fitted to a shorter training: {note}',
                          logger='current')
    return notes


_CONFIG_EXTS = ('.py', '.yml', '.yaml', '.json')


def check_image_config_order(image: str, config: str,
                             usage: Optional[str] = None) -> None:
    """Refuse ``IMAGE`` and ``CONFIG`` given the other way round.

    Args:
        image (str): The first positional argument (an image or folder).
        config (str): The second (a config file).
        usage (str, optional): The tool's usage line for the message.

    Raises:
        ValueError: ``image`` is a config file (.py, .yml, .yaml, .json)
            and ``config`` is not: the message gives the usage and the
            corrected order.
    """
    def is_config(path: str) -> bool:
        return osp.splitext(path)[1].lower() in _CONFIG_EXTS

    if is_config(image) and not is_config(config):
        raise ValueError(
            f'the image comes first, then the config: got the config '
            f'{image!r} where the image goes and {config!r} where the config '
            f'goes. Usage: {usage or "IMAGE CONFIG CHECKPOINT"}; e.g. '
            f'{config} {image} CHECKPOINT')


def check_config_file(path: str, usage: str) -> None:
    """Refuse a config argument that is no config file, with the usage.

    mmengine's ``Config.fromfile`` says only "Only py/yml/yaml/json type
    are supported now!" or "file not found".

    Args:
        path (str): The config argument.
        usage (str): The tool's usage line for the message.

    Raises:
        ValueError: ``path`` does not end in .py, .yml, .yaml or .json.
        FileNotFoundError: ``path`` does not exist.
    """
    if osp.splitext(path)[1].lower() not in _CONFIG_EXTS:
        raise ValueError(f'{path!r} is not a config file (.py, .yml, .yaml '
                         f'or .json). Usage: {usage}')
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file {path!r} not found (the '
                                f'working directory is {os.getcwd()}). '
                                f'Usage: {usage}')
