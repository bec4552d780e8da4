"""The models a web page can switch between, built on first use.

A model entry is a name with a config and an optional checkpoint, or a
name of the model index (:mod:`~mpa_fer_plugin.apis.model_zoo`: config and
checksum-verified weights), or an already built
:class:`~mpa_fer_plugin.apis.face.FERPipeline` (as the tests pass one).
Known by name without any file of the user's:

* ``zero-shot-demo``: the tiny CLIP committed under
  ``configs/demo_assets/tiny_clip`` scored with the class-name template
  ``'a photo of a {}.'``, nothing trained
  (``configs/zero_shot/zsclip_tiny_demo.py``);
* ``demo``: the demo config with the checkpoint ``make demo`` wrote
  (``work_dirs/demo/last_checkpoint``);
* the models of the model index that can be used now (published weights,
  or zero-shot).

The demo models were made on drawn faces of the demo world; their cards
say so and the page shows a warning (:func:`~.cards.domain_warning`).
"""
import os
import os.path as osp
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO_CONFIG = osp.join(ROOT, 'configs', 'mpa_fer_demo.py')
ZERO_SHOT_DEMO_CONFIG = osp.join(ROOT, 'configs', 'zero_shot',
                                 'zsclip_tiny_demo.py')
#: Where ``make demo`` (tools/demo.py --work-dir work_dirs/demo) trains.
DEMO_WORK_DIR = osp.join(ROOT, 'work_dirs', 'demo')


@dataclass
class ModelEntry:
    """One selectable model.

    Attributes:
        name (str): The key the page uses.
        label (str): What the selector shows.
        config (str, optional): Config file.
        checkpoint (str, optional): Checkpoint file (None: nothing
            trained, or the index's weights for ``index_name``).
        index_name (str, optional): A model of the model index, resolved
            (and its weights checked) when it is built.
        kind (str): ``'zero-shot'``, ``'trained'`` or ``'index'``.
        pipeline (FERPipeline, optional): Built on first use.
        error (str, optional): Why it cannot be built (then it is listed
            but not selectable).
    """

    name: str
    label: str
    config: Optional[str] = None
    checkpoint: Optional[str] = None
    index_name: Optional[str] = None
    kind: str = 'trained'
    pipeline: Any = field(default=None, repr=False)
    error: Optional[str] = None

    def to_json(self) -> Dict[str, Any]:
        """The entry as the page lists it."""
        return dict(name=self.name, label=self.label, kind=self.kind,
                    config=self.config, checkpoint=self.checkpoint,
                    loaded=self.pipeline is not None, error=self.error)


def demo_checkpoint(work_dir: str = DEMO_WORK_DIR) -> Optional[str]:
    """The last checkpoint of ``make demo``'s training run, or None."""
    marker = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(marker):
        return None
    with open(marker, encoding='utf-8') as f:
        path = f.read().strip()
    path = path if osp.isabs(path) else osp.join(ROOT, path)
    return path if osp.isfile(path) else None


def builtin_entries(work_dir: str = DEMO_WORK_DIR) -> List[ModelEntry]:
    """``demo`` (first where trained, else last with an error) and
    ``zero-shot-demo``.

    Args:
        work_dir (str): Where ``make demo`` trained. Defaults to
            ``work_dirs/demo`` of this repository.
    """
    zero = ModelEntry('zero-shot-demo',
                      'Zero-shot tiny demo CLIP (no training)',
                      config=ZERO_SHOT_DEMO_CONFIG, kind='zero-shot')
    ckpt = demo_checkpoint(work_dir)
    demo = ModelEntry('demo', 'Demo model (trained by make demo)',
                      config=DEMO_CONFIG, checkpoint=ckpt)
    if ckpt is None:
        demo.error = (f'no demo checkpoint: run `make demo` first (no '
                      f'{osp.join(work_dir, "last_checkpoint")})')
        return [zero, demo]
    return [demo, zero]


def index_entries(names: Optional[List[str]] = None) -> List[ModelEntry]:
    """Entries of model-index names (default: those usable now).

    ``config`` is the index's config file (shown on the page); the
    weights are resolved and checked when the model is built.
    """
    from ..apis import model_zoo
    try:
        models = model_zoo.load_model_index()
    except FileNotFoundError:
        return []
    if names is None:
        names = model_zoo.list_models(with_weights=True)
    out = []
    for name in names:
        if name not in models:
            raise KeyError(f'no model named {name!r} in the model index; '
                           f'known: {", ".join(models)}')
        info = models[name]
        config = osp.join(info['_root'], info['Config'])
        out.append(ModelEntry(name, f'{name} (model index)', config=config,
                              index_name=name, kind='index'))
    return out


def entry_from_paths(checkpoint: Optional[str], config: Optional[str],
                     name: Optional[str] = None) -> ModelEntry:
    """An entry for a config and its checkpoint (None: nothing trained).

    Raises:
        FileNotFoundError: If a given file does not exist.
        ValueError: If no config is given.
    """
    if not config:
        raise ValueError('a checkpoint needs its config file (config=...)')
    for what, path in (('config', config), ('checkpoint', checkpoint)):
        if path and not osp.isfile(path):
            raise FileNotFoundError(f'{what} file not found: {path}')
    name = name or osp.splitext(osp.basename(checkpoint or config))[0]
    label = osp.basename(checkpoint) if checkpoint else osp.basename(config)
    return ModelEntry(name, label, config=osp.abspath(config),
                      checkpoint=checkpoint and osp.abspath(checkpoint),
                      kind='trained' if checkpoint else 'zero-shot')


class ModelRegistry:
    """Named models, each built once on first use (thread-safe).

    Args:
        entries (list[ModelEntry]): The models, in selector order; the
            first one without an error is the default.
        detector: The face detector of every pipeline (see
            :class:`~mpa_fer_plugin.apis.face.FERPipeline`).
        device (str): Torch device. Defaults to ``'cpu'``.
        builder (callable, optional): ``builder(entry) -> FERPipeline``
            (default: :meth:`build`).
    """

    def __init__(self, entries: List[ModelEntry], detector: Any = None,
                 device: str = 'cpu',
                 builder: Optional[Callable[[ModelEntry], Any]] = None
                 ) -> None:
        self.entries: 'OrderedDict[str, ModelEntry]' = OrderedDict()
        self.detector, self.device = detector, device
        self.builder = builder or self.build
        #: Held while a model is built or runs (one at a time).
        self.lock = threading.RLock()
        for entry in entries:
            self.add(entry)

    def add(self, entry: ModelEntry) -> ModelEntry:
        """Add (or replace) an entry by its name."""
        with self.lock:
            self.entries[entry.name] = entry
        return entry

    @property
    def default(self) -> Optional[str]:
        """The first usable model's name."""
        for name, entry in self.entries.items():
            if entry.error is None:
                return name
        return None

    def list(self) -> List[Dict[str, Any]]:
        """Every entry as the page lists it."""
        return [e.to_json() for e in self.entries.values()]

    def get(self, name: Optional[str]) -> ModelEntry:
        """The entry called ``name`` (None or empty: the default).

        Raises:
            KeyError: If there is no such model, or it has an error.
        """
        name = name or self.default
        entry = self.entries.get(name) if name else None
        if entry is None:
            raise KeyError(f'unknown model {name!r}; known: '
                           f'{", ".join(self.entries) or "none"}')
        if entry.error:
            raise KeyError(f'model {name!r} is not available: {entry.error}')
        return entry

    def pipeline(self, name: Optional[str] = None):
        """The entry's pipeline, built on first use."""
        entry = self.get(name)
        with self.lock:
            if entry.pipeline is None:
                entry.pipeline = self.builder(entry)
        return entry.pipeline

    def build(self, entry: ModelEntry):
        """Build the :class:`FERPipeline` of an entry."""
        from ..apis.face import FERPipeline
        config, checkpoint = entry.config, entry.checkpoint
        if entry.index_name:
            from ..apis.model_zoo import resolve_model
            config, checkpoint = resolve_model(entry.index_name, checkpoint)
        return FERPipeline(config, checkpoint, detector=self.detector,
                           device=self.device, topk=3)

    def load(self, name_or_path: str, config: Optional[str] = None
             ) -> ModelEntry:
        """Register a model given on the page, and build it.

        Args:
            name_or_path (str): A listed name, a model-index name, a
                config file (nothing trained) or a checkpoint file (then
                ``config`` is needed).
            config (str, optional): The checkpoint's config file.

        Returns:
            ModelEntry: The built entry.
        """
        name_or_path = name_or_path.strip()
        if name_or_path in self.entries and not config:
            self.pipeline(name_or_path)
            return self.entries[name_or_path]
        if name_or_path.endswith('.py') and not config:
            entry = entry_from_paths(None, name_or_path)  # zero-shot config
        elif osp.exists(name_or_path) or config or os.sep in name_or_path:
            entry = entry_from_paths(name_or_path, config)
        else:
            entry = index_entries([name_or_path])[0] if _in_index(
                name_or_path) else None
            if entry is None:
                raise KeyError(
                    f'{name_or_path!r} is neither a listed model '
                    f'({", ".join(self.entries)}), a model-index name nor '
                    'a checkpoint file')
        self.add(entry)
        try:
            self.pipeline(entry.name)
        except Exception:
            with self.lock:
                self.entries.pop(entry.name, None)
            raise
        return entry


def _in_index(name: str) -> bool:
    from ..apis.model_zoo import is_model_name
    return is_model_name(name)
