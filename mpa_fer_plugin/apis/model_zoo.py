"""Models by name: the model index, prompt packs and their checksums.

The model index (``model-index.yml`` at the repository root, importing
``configs/mpa_fer/metafile.yml``) follows OpenMMLab's metafile format:
``Collections`` and ``Models``, each model with ``Name``, ``Config``,
``Weights`` (a URL, or a path relative to the repository root) and
``Results``; ``Metadata`` adds the base CLIP (open_clip model name and
tag or file), the image domain and the weights' ``SHA256``.

:func:`resolve_model` turns a name such as ``'mpa-fer_tiny-clip_demo'``
into ``(config, checkpoint)``. Weights given by URL are looked up in the
cache folder (:func:`cache_dir`: ``$MPA_FER_HOME`` or
``~/.cache/mpa_fer``), downloaded there when the machine is online, and
checked against the index's SHA256 before use; a file whose checksum
differs is refused. Offline and missing, the error names the file and the
folder to put it in.

:func:`publish_prompts` writes a prompt pack: the checkpoint without its
optimizer and training state, with its model card, named
``{name}-{first 8 hex of its sha256}.pth`` as mmpretrain's
``publish_model`` does.
"""
import hashlib
import os
import os.path as osp
from typing import Any, Dict, List, Optional, Tuple

#: The repository root (where ``model-index.yml`` lives).
REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: The default model index.
MODEL_INDEX = osp.join(REPO_ROOT, 'model-index.yml')
#: Environment variable of the cache folder of downloaded weights.
HOME_ENV = 'MPA_FER_HOME'
#: Checkpoint keys a prompt pack drops (training state only).
TRAINING_KEYS = ('optimizer', 'message_hub', 'param_schedulers',
                 'ema_state_dict')


class ChecksumError(ValueError):
    """A weights file whose SHA256 differs from the model index."""


def cache_dir() -> str:
    """The folder of downloaded weights: ``$MPA_FER_HOME`` or
    ``~/.cache/mpa_fer`` (not created here)."""
    return osp.expanduser(os.environ.get(HOME_ENV) or '~/.cache/mpa_fer')


def sha256_file(path: str, chunk: int = 1 << 20) -> str:
    """The SHA256 hex digest of a file."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(chunk), b''):
            digest.update(block)
    return digest.hexdigest()


def _read_yaml(path: str) -> dict:
    import yaml
    if not osp.isfile(path):
        raise FileNotFoundError(f'model index file not found: {path}')
    with open(path, encoding='utf-8') as f:
        data = yaml.safe_load(f) or {}
    if not isinstance(data, dict):
        raise ValueError(f'model index {path} is not a YAML mapping')
    return data


def load_model_index(index: Optional[str] = None) -> Dict[str, dict]:
    """Read a model index (or one metafile) into ``{name: model}``.

    Args:
        index (str, optional): ``model-index.yml`` (its ``Import`` list is
            followed) or a metafile. Defaults to :data:`MODEL_INDEX`.

    Returns:
        dict[str, dict]: The ``Models`` entries by ``Name``, each with
        ``_root`` (the folder relative paths are resolved against).
    """
    index = osp.abspath(index or MODEL_INDEX)
    root = osp.dirname(index)
    data = _read_yaml(index)
    files = [osp.join(root, p) for p in data.get('Import') or []]
    entries = list(data.get('Models') or [])
    for path in files:
        entries += list(_read_yaml(path).get('Models') or [])
    models = {}
    for entry in entries:
        name = entry.get('Name')
        if not name:
            raise ValueError(f'a model of {index} has no Name: {entry}')
        if name in models:
            raise ValueError(f'model {name!r} appears twice in {index}')
        models[name] = dict(entry, _root=root)
    return models


def list_models(index: Optional[str] = None,
                with_weights: bool = False) -> List[str]:
    """Names of the models in the index, in index order.

    Args:
        index (str, optional): See :func:`load_model_index`.
        with_weights (bool): Only models that can be used now: with
            published weights, or zero-shot (nothing to load). Defaults to
            False (the empty rows of untrained models too).

    Returns:
        list[str]: Model names.
    """
    models = load_model_index(index)
    if not with_weights:
        return list(models)
    return [n for n, m in models.items()
            if m.get('Weights') or _meta(m).get('Kind') == 'zero-shot']


def _meta(model: dict) -> dict:
    return model.get('Metadata') or {}


def get_model_info(name: str, index: Optional[str] = None) -> dict:
    """The index entry of ``name`` (see :func:`load_model_index`)."""
    models = load_model_index(index)
    if name not in models:
        raise KeyError(f'no model named {name!r} in the model index '
                       f'{index or MODEL_INDEX}; known: {sorted(models)}')
    return models[name]


def verify_checksum(path: str, sha256: Optional[str]) -> str:
    """Check a file's SHA256 against the expected one (and its name).

    A file named ``*-XXXXXXXX.pth`` must also start with ``XXXXXXXX``.

    Args:
        path (str): The file.
        sha256 (str, optional): The expected hex digest; None checks the
            name suffix only.

    Returns:
        str: The file's digest.
    """
    digest = sha256_file(path)
    if sha256 and digest != sha256.lower():
        raise ChecksumError(
            f'checksum mismatch for {path}: its sha256 is {digest}, the '
            f'model index expects {sha256}; the file is corrupt or another '
            'version. Delete it and download it again.')
    stem = osp.splitext(osp.basename(path))[0]
    suffix = stem.rsplit('-', 1)[-1] if '-' in stem else ''
    if len(suffix) == 8 and all(c in '0123456789abcdef' for c in suffix) \
            and not digest.startswith(suffix):
        raise ChecksumError(
            f'checksum mismatch for {path}: its name says sha256 '
            f'{suffix}..., the content is {digest[:8]}...')
    return digest


def _is_url(value: str) -> bool:
    return value.startswith(('http://', 'https://'))


def _online(host: str, timeout: float = 1.0) -> bool:
    if os.environ.get('HF_HUB_OFFLINE', '').lower() in ('1', 'true', 'yes'):
        return False
    import socket
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def fetch_weights(model: dict) -> str:
    """The local, checksum-verified weights file of an index entry.

    Args:
        model (dict): An entry of :func:`load_model_index`.

    Returns:
        str: The file path.
    """
    name, weights = model['Name'], model.get('Weights')
    sha = _meta(model).get('SHA256')
    if not weights:
        raise FileNotFoundError(
            f'model {name!r} has no published weights yet (an empty row of '
            'the model index): train it with tools/train.py '
            f"{model.get('Config')}, publish the checkpoint with "
            'tools/publish_prompts.py and fill in its Weights and SHA256')
    if not _is_url(weights):
        path = weights if osp.isabs(weights) else osp.join(model['_root'],
                                                           weights)
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'weights of {name!r} not found: {path} (Weights: '
                f'{weights} in the model index)')
        verify_checksum(path, sha)
        return path
    filename = osp.basename(weights.split('?')[0])
    folder = cache_dir()
    path = osp.join(folder, filename)
    if not osp.isfile(path):
        host = weights.split('/')[2]
        if not _online(host):
            raise FileNotFoundError(
                f'weights of {name!r} are not in the cache and this machine '
                f'is offline (or HF_HUB_OFFLINE=1): download {weights} '
                f'elsewhere and put it at {path} (the cache folder is '
                f'${HOME_ENV}, default ~/.cache/mpa_fer)')
        from torch.hub import download_url_to_file
        os.makedirs(folder, exist_ok=True)
        download_url_to_file(weights, path, progress=True)
    verify_checksum(path, sha)
    return path


def resolve_model(name_or_path: str,
                  checkpoint: Optional[str] = None,
                  index: Optional[str] = None
                  ) -> Tuple[str, Optional[str]]:
    """Turn a model name or a config path into ``(config, checkpoint)``.

    Args:
        name_or_path (str): A config file (returned with ``checkpoint``
            unchanged) or a model name of the index.
        checkpoint (str, optional): With a name: a local weights file to
            use instead of the index's (its checksum is still verified).
        index (str, optional): See :func:`load_model_index`.

    Returns:
        tuple[str, str | None]: The config file and the checkpoint (None
        for a zero-shot model: nothing is loaded).
    """
    if osp.isfile(name_or_path) or name_or_path.endswith('.py'):
        return name_or_path, checkpoint
    models = load_model_index(index)
    if name_or_path not in models:
        raise FileNotFoundError(
            f'{name_or_path!r} is neither a config file nor a model name of '
            f'the model index {index or MODEL_INDEX} (names: '
            f'{", ".join(models)})')
    model = models[name_or_path]
    config = osp.join(model['_root'], model['Config'])
    if not osp.isfile(config):
        raise FileNotFoundError(f'config of {name_or_path!r} not found: '
                                f'{config}')
    if _meta(model).get('Kind') == 'zero-shot' and checkpoint is None:
        return config, None
    if checkpoint is not None:
        verify_checksum(checkpoint, _meta(model).get('SHA256'))
        return config, checkpoint
    return config, fetch_weights(model)


def is_model_name(value: Optional[str], index: Optional[str] = None
                  ) -> bool:
    """Whether ``value`` names a model of the index (not a file)."""
    if not value or osp.exists(value) or value.endswith('.py'):
        return False
    try:
        return value in load_model_index(index)
    except FileNotFoundError:
        return False


def publish_prompts(checkpoint: str,
                    name: str,
                    out_dir: str,
                    config: Optional[str] = None) -> Dict[str, Any]:
    """Write a prompt pack of a trained checkpoint.

    Keeps ``state_dict`` (the prompts: the frozen CLIP is never saved) and
    ``meta`` (class names, model card, calibration), drops the optimizer
    and training state, sets the card's ``name`` and names the file
    ``{name}-{sha256[:8]}.pth``.

    Args:
        checkpoint (str): A checkpoint written by training.
        name (str): The model name (as in the index).
        out_dir (str): Where to write the pack.
        config (str, optional): The config; used to build a card when the
            checkpoint has none.

    Returns:
        dict: ``path``, ``sha256``, ``bytes`` and ``model_card``.
    """
    from ..utils.safe_checkpoint import atomic_torch_save, safe_torch_load
    from .model_card import build_model_card
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint file not found: {checkpoint}')
    if not name or any(c in name for c in '/\\ '):
        raise ValueError(f'model name {name!r} must be non-empty, without '
                         'slashes or spaces')
    ckpt = safe_torch_load(checkpoint, map_location='cpu')
    if not isinstance(ckpt, dict) or 'state_dict' not in ckpt:
        raise ValueError(f'{checkpoint} is not a training checkpoint (no '
                         'state_dict)')
    pack = {k: v for k, v in ckpt.items() if k not in TRAINING_KEYS}
    meta = dict(pack.get('meta') or {})
    card = meta.get('model_card')
    if card is None:
        if config is None:
            raise ValueError(
                f'{checkpoint} has no model card (trained before '
                'MPAModelCardHook); pass its config to build one')
        from mmengine.config import Config
        card = build_model_card(Config.fromfile(config),
                                kind='prompt-tuned')
        card['notes'] = ('card built at publish time from the config '
                         '(the checkpoint had none)')
        card['classes'] = list((meta.get('dataset_meta') or {}).get(
            'classes') or card.get('classes') or [])
    card = dict(card, name=name)
    meta['model_card'] = card
    pack['meta'] = meta
    tmp = osp.join(out_dir, f'{name}.pth')
    atomic_torch_save(pack, tmp)
    digest = sha256_file(tmp)
    path = osp.join(out_dir, f'{name}-{digest[:8]}.pth')
    os.replace(tmp, path)
    return dict(path=path, sha256=digest, bytes=osp.getsize(path),
                model_card=card)



def resolve_cli_model(config: str, checkpoint: Optional[str]
                      ) -> Tuple[str, str]:
    """``(config, checkpoint)`` of a tool taking ``CONFIG [CHECKPOINT]``.

    ``config`` may be a model name (then ``checkpoint`` may be left out);
    a config file needs a checkpoint or ``'none'`` (evaluate as built).

    Returns:
        tuple[str, str]: The config file and a checkpoint file or
        ``'none'``.
    """
    if checkpoint is not None and checkpoint.lower() == 'none':
        return resolve_model(config)[0], 'none'
    if checkpoint is None and (osp.isfile(config) or config.endswith('.py')):
        raise ValueError(
            f'no checkpoint given for the config {config}: pass the '
            "checkpoint, 'none' to evaluate the model as built (zero-shot), "
            'or a model name of the model index instead of the config')
    config, checkpoint = resolve_model(config, checkpoint)
    return config, checkpoint or 'none'
