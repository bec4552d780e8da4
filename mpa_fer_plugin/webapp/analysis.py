"""What the page asks of a model: faces of an image, heatmaps, the card.

:class:`WebApp` holds the :class:`~.models.ModelRegistry` and the last few
analysed images (their aligned crops, for the heatmaps of a face picked
later). It works on bytes and returns JSON-ready dicts, so the HTTP layer
(:mod:`.server`) only routes.
"""
import base64
import os.path as osp
import tempfile
import threading
import time
import uuid
from collections import OrderedDict
from typing import Any, Dict, List, Optional

import cv2
import numpy as np

from .cards import domain_warning, model_card
from .models import ModelRegistry

#: Uploads larger than this are refused (bytes).
MAX_UPLOAD = 25 * 1024 * 1024
#: Decoded images with more pixels than this are refused.
MAX_PIXELS = 40_000_000


class WebError(Exception):
    """A request the page can show as a message (HTTP ``status``)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def decode_image(data: bytes) -> np.ndarray:
    """Decode uploaded bytes (PNG, JPEG, ...) into a BGR array.

    Raises:
        WebError: If the bytes are empty, too large or not an image.
    """
    if not data:
        raise WebError('the upload is empty')
    if len(data) > MAX_UPLOAD:
        raise WebError(f'the upload has {len(data)} bytes; at most '
                       f'{MAX_UPLOAD} are accepted', 413)
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise WebError(f'the upload ({len(data)} bytes) is not an image '
                       'OpenCV can read (PNG, JPEG, BMP, WebP, ...)')
    if img.shape[0] * img.shape[1] > MAX_PIXELS:
        raise WebError(f'the image is {img.shape[1]}x{img.shape[0]}; at '
                       f'most {MAX_PIXELS} pixels are accepted', 413)
    return img


def png_data_url(image: np.ndarray) -> str:
    """A BGR image as a ``data:image/png;base64,...`` URL."""
    ok, buf = cv2.imencode('.png', image)
    if not ok:
        raise WebError('could not encode an image as PNG', 500)
    return 'data:image/png;base64,' + base64.b64encode(
        buf.tobytes()).decode('ascii')


class WebApp:
    """The page's operations over a model registry.

    Args:
        registry (ModelRegistry): The selectable models.
        keep (int): Analysed images whose crops are kept for heatmaps.
            Defaults to 16.
        allow_load (bool): Whether the page may add models by name or
            path (building a model reads, and a config runs, local files).
            Defaults to True.
    """

    def __init__(self, registry: ModelRegistry, keep: int = 16,
                 allow_load: bool = True) -> None:
        self.registry = registry
        self.keep = keep
        self.allow_load = allow_load
        self.results: 'OrderedDict[str, dict]' = OrderedDict()
        self.lock = threading.Lock()

    # -- models ---------------------------------------------------------
    def models(self) -> Dict[str, Any]:
        """The selector's entries, the default and ``allow_load``."""
        return dict(models=self.registry.list(),
                    default=self.registry.default,
                    allow_load=self.allow_load)

    def card(self, name: Optional[str]) -> Dict[str, Any]:
        """The model card of a model, with the demo-domain warning."""
        entry = self._entry(name)
        pipe = self._pipeline(entry.name)
        card = model_card(pipe)
        return dict(model=entry.name, card=card,
                    warning=domain_warning(card))

    def load(self, name_or_path: str, config: Optional[str] = None
             ) -> Dict[str, Any]:
        """Add a model by name or checkpoint path (and config)."""
        if not self.allow_load:
            raise WebError('loading models from the page is off (start '
                           'tools/web_demo.py with --allow-load)', 403)
        if not name_or_path or not name_or_path.strip():
            raise WebError('give a model name or a checkpoint path')
        try:
            entry = self.registry.load(name_or_path, config or None)
        except (KeyError, ValueError, FileNotFoundError, RuntimeError) as e:
            raise WebError(_message(e)) from e
        return dict(entry.to_json(), **self.models())

    # -- images ---------------------------------------------------------
    def analyze(self, data: bytes, name: Optional[str]) -> Dict[str, Any]:
        """Detect, align and classify every face of an uploaded image.

        Args:
            data (bytes): The image file's bytes.
            name (str, optional): Model name (None: the default).

        Returns:
            dict: ``id`` (for :meth:`heatmap`), ``model``, ``width``,
            ``height``, ``detector``, ``classes``, ``seconds``,
            ``warning`` and ``faces``: per face (left to right) ``index``,
            ``box``, ``score``, ``pred_class``, ``pred_score``, ``topk``,
            ``scores`` and ``crop`` (the aligned crop as a PNG data URL).
        """
        entry = self._entry(name)
        img = decode_image(data)
        pipe = self._pipeline(entry.name)
        start = time.perf_counter()
        with self.registry.lock:
            results, crops = pipe.predict(img, return_crops=True)
        seconds = time.perf_counter() - start
        faces: List[dict] = []
        for i, (res, crop) in enumerate(zip(results, crops)):
            faces.append(dict(
                index=i, box=res['box'], score=round(res['score'], 4),
                pred_class=res['pred_class'], pred_score=res['pred_score'],
                topk=res['topk'], scores=res['scores'],
                crop=png_data_url(crop)))
        key = uuid.uuid4().hex
        with self.lock:
            self.results[key] = dict(model=entry.name, crops=crops,
                                     classes=pipe.classes)
            while len(self.results) > self.keep:
                self.results.popitem(last=False)
        card = model_card(pipe)
        return dict(id=key, model=entry.name, width=int(img.shape[1]),
                    height=int(img.shape[0]),
                    detector=pipe.describe()['detector'],
                    classes=list(pipe.classes), seconds=round(seconds, 3),
                    warning=domain_warning(card), faces=faces)

    def heatmap(self, key: str, face: int,
                class_name: Optional[str] = None) -> bytes:
        """The CGLA heatmap PNG of one face of an analysed image.

        Raises:
            WebError: For an unknown result, face or class.
        """
        with self.lock:
            stored = self.results.get(key)
        if stored is None:
            raise WebError(f'no analysed image {key!r} (only the last '
                           f'{self.keep} are kept): upload it again', 404)
        if not 0 <= face < len(stored['crops']):
            raise WebError(f'face {face} does not exist; the image has '
                           f"{len(stored['crops'])} faces", 404)
        if class_name and class_name not in stored['classes']:
            raise WebError(f'unknown class {class_name!r}; the model has '
                           f"{', '.join(stored['classes'])}")
        pipe = self._pipeline(stored['model'])
        with tempfile.TemporaryDirectory() as tmp:
            out = osp.join(tmp, 'heatmap.png')
            with self.registry.lock:
                pipe.heatmap(stored['crops'][face], out,
                             class_name=class_name or None,
                             display_size=256, legend=True)
            with open(out, 'rb') as f:
                return f.read()

    # -- helpers --------------------------------------------------------
    def _entry(self, name: Optional[str]):
        try:
            return self.registry.get(name)
        except KeyError as e:
            raise WebError(_message(e), 404) from e

    def _pipeline(self, name: str):
        try:
            return self.registry.pipeline(name)
        except (FileNotFoundError, ValueError, RuntimeError) as e:
            raise WebError(f'model {name!r} could not be built: '
                           f'{_message(e)}', 500) from e


def _message(error: BaseException) -> str:
    """An exception's text without KeyError's quotes."""
    return str(error.args[0]) if error.args else type(error).__name__
