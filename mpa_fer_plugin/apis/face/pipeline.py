"""``FERPipeline``: photo or frame in, one result per face out.

detect (:mod:`.detectors`) -> align to the model's crop geometry
(:mod:`.align`) -> classify the crops with :class:`MPAFERInferencer`.
The aligned crops are what the model sees, so the inferencer and the CGLA
heatmaps (:meth:`FERPipeline.heatmap`) work on them as on any pre-aligned
face.
"""
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.config import Config

from ..image_input import warn_if_small
from ..inference import init_mpa_model, load_image
from ..inferencer import MPAFERInferencer
from ..model_card import card_label, ensure_model_card, warn_if_demo
from ..model_zoo import resolve_model
from .align import (
    CropGeometry,
    GeometrySpec,
    align_face,
    build_geometry,
    geometry_for_config,
)
from .auto import build_face_detector
from .detectors import (
    LANDMARK_NAMES,
    DetectorSpec,
    FaceDetections,
    as_detections,
)


def _landmarks_json(points: np.ndarray) -> Optional[Dict[str, list]]:
    """Known landmarks by name (None if the detector gave none)."""
    out = {name: [round(float(x), 2), round(float(y), 2)]
           for name, (x, y) in zip(LANDMARK_NAMES, points)
           if np.isfinite(x) and np.isfinite(y)}
    return out or None


class FERPipeline:
    """Face detection, alignment and MPA-FER classification in one object.

    Args:
        config (str | Config): The model's config, or a model name of the
            model index (:func:`~mpa_fer_plugin.apis.model_zoo.
            resolve_model`: its config and checksum-verified weights), or
            pass ``model``.
        checkpoint (str, optional): Its (prompt-only) checkpoint; None for
            a zero-shot config (nothing to load).
        detector: What :func:`~.detectors.build_face_detector` takes: None
            or ``'auto'`` (default: ``'yuface'`` where it is installed, else
            ``'haar'`` with a warning), ``'yuface'``, ``'haar'``, ``'mtcnn'``,
            ``'none'`` (the whole image is one face), a config dict or any
            object with ``detect(image)``.
        geometry: Crop geometry (:func:`~.align.build_geometry`, given the
            detector's class name); None: :func:`~.align.geometry_for_config`
            of the config.
        topk (int): ``(class, score)`` pairs per face. Defaults to 3.
        max_faces (int, optional): Keep only the most confident faces.
        min_face (int): Drop faces whose box is smaller (pixels). Defaults
            to 0.
        device (str): Torch device. Defaults to ``'cpu'``.
        cfg_options (dict, optional): Overrides merged into the config.
        model (nn.Module, optional): An already built model (with
            ``_config``) instead of ``config``/``checkpoint``.
        classnames (Sequence[str], optional): Score these names instead
            (experimental open vocabulary, see
            :class:`MPAFERInferencer`).

    Call it on a path or a BGR array; it returns one dict per face, left
    to right: ``box`` (x1, y1, x2, y2), ``score`` (detector), ``landmarks``
    (known points by name, or None), ``crop`` (alignment record: method,
    2x3 matrix, size, geometry), ``pred_label``, ``pred_class``,
    ``pred_score``, ``topk`` (list of ``{'class', 'score'}``),
    ``scores`` (class -> probability) and ``model`` (the one-line label of
    the model card, e.g. ``'ZERO-SHOT ViT-B-16 (openai), no FER
    training'``). No face: an empty list.

    The model's card (:mod:`~mpa_fer_plugin.apis.model_card`: what it was
    trained on, or ``kind='zero-shot'``) is :attr:`model_card`, recorded by
    :meth:`describe`; a model whose card's domain is the synthetic demo
    world warns once (``DemoDomainWarning``) on its first input.
    """

    def __init__(self,
                 config: Union[str, Config, None] = None,
                 checkpoint: Optional[str] = None,
                 detector: DetectorSpec = None,
                 geometry: GeometrySpec = None,
                 topk: int = 3,
                 max_faces: Optional[int] = None,
                 min_face: int = 0,
                 device: Union[str, torch.device] = 'cpu',
                 cfg_options: Optional[dict] = None,
                 model=None,
                 classnames: Optional[Sequence[str]] = None) -> None:
        if model is None:
            if config is None:
                raise ValueError('FERPipeline needs a config or a model')
            if isinstance(config, str):
                config, checkpoint = resolve_model(config, checkpoint)
            model = init_mpa_model(config, checkpoint, device=device,
                                   cfg_options=cfg_options)
        self.model = model
        #: dict: What the model was trained on (see the class docstring).
        self.model_card = ensure_model_card(model, checkpoint)
        #: str: Its one-line label (in every result of :meth:`predict`).
        self.model_label = card_label(self.model_card)
        self.inferencer = MPAFERInferencer(model, topk=topk,
                                           classnames=classnames)
        self.classes = tuple(self.inferencer.classes)
        self.detector = build_face_detector(detector)
        name = type(self.detector).__name__
        self.geometry: CropGeometry = (
            build_geometry(geometry, detector=name) if geometry is not None
            else geometry_for_config(getattr(model, '_config', None), name))
        if max_faces is not None and max_faces < 1:
            raise ValueError(f'max_faces={max_faces} must be >= 1')
        self.max_faces, self.min_face = max_faces, int(min_face)

    # -- stages ---------------------------------------------------------
    def detect(self, image: np.ndarray) -> FaceDetections:
        """Run the detector, filter by size and count, sort left to right.

        Args:
            image (np.ndarray): BGR image.

        Returns:
            FaceDetections: The kept faces.
        """
        dets = as_detections(self.detector.detect(image),
                             type(self.detector).__name__)
        if len(dets) == 0:
            return dets
        side = np.minimum(dets.boxes[:, 2] - dets.boxes[:, 0],
                          dets.boxes[:, 3] - dets.boxes[:, 1])
        keep = np.flatnonzero(side >= self.min_face)
        if self.max_faces is not None:
            keep = keep[np.argsort(-dets.scores[keep],
                                   kind='stable')[:self.max_faces]]
        keep = keep[np.argsort(dets.boxes[keep, 0], kind='stable')]
        return FaceDetections(dets.boxes[keep], dets.landmarks[keep],
                              dets.scores[keep])

    def align(self, image: np.ndarray, dets: FaceDetections
              ) -> Tuple[List[np.ndarray], List[dict]]:
        """Aligned BGR crops and their records, one per detection."""
        crops, records = [], []
        for box, points in zip(dets.boxes, dets.landmarks):
            warn_if_small(self.model, (box[3] - box[1], box[2] - box[0]),
                          'a detected face')  # upscaled into its crop
            crop, record = align_face(image, box, points, self.geometry)
            crops.append(crop)
            records.append(record)
        return crops, records

    def classify(self, crops: Sequence[np.ndarray],
                 batch_size: int = 8) -> List[dict]:
        """Expression results of aligned crops (the inferencer's dicts).

        Args:
            crops (Sequence[np.ndarray]): BGR face crops.
            batch_size (int): Crops per forward pass. Defaults to 8.

        Returns:
            list[dict]: ``pred_label``, ``pred_class``, ``pred_score``,
            ``topk`` (dicts) and ``scores`` (class -> probability).
        """
        if not crops:
            return []
        warn_if_demo(self.model)
        raw = self.inferencer(list(crops), batch_size=batch_size,
                              progress=False)
        return [dict(pred_label=int(r['pred_label']),
                     pred_class=r['pred_class'],
                     pred_score=float(r['pred_score']),
                     topk=[{'class': c, 'score': s} for c, s in r['topk']],
                     scores=dict(zip(self.classes,
                                     map(float, r['pred_scores']))))
                for r in raw]

    # -- all at once ----------------------------------------------------
    def predict(self, image: Union[str, np.ndarray],
                return_crops: bool = False, batch_size: int = 8
                ) -> Union[List[dict], Tuple[List[dict], List[np.ndarray]]]:
        """Detect, align and classify every face of one image.

        Args:
            image (str | np.ndarray): A path or a BGR array.
            return_crops (bool): Also return the aligned crops. Defaults to
                False.
            batch_size (int): Crops per forward pass. Defaults to 8.

        Returns:
            list[dict] | tuple[list[dict], list[np.ndarray]]: One result
            per face (see the class docstring), and the crops.
        """
        img = load_image(image)
        dets = self.detect(img)
        crops, records = self.align(img, dets)
        results = []
        for i, pred in enumerate(self.classify(crops, batch_size)):
            results.append(dict(
                box=[round(float(v), 2) for v in dets.boxes[i]],
                score=float(dets.scores[i]),
                landmarks=_landmarks_json(dets.landmarks[i]),
                crop=records[i], **pred, model=self.model_label))
        return (results, crops) if return_crops else results

    __call__ = predict

    def heatmap(self, crop: np.ndarray, out_file: str,
                class_name: Optional[str] = None,
                display_size: int = 256,
                legend: bool = True) -> np.ndarray:
        """Draw the CGLA heatmap of one aligned crop into ``out_file``.

        Args:
            crop (np.ndarray): A crop from :meth:`predict`
                (``return_crops=True``) or :meth:`align`.
            out_file (str): The PNG to write.
            class_name (str, optional): Class; default the predicted one.
            display_size (int): Longer side of the heatmap. Defaults to
                256.
            legend (bool): Add the title, colour bar and caption of
                :func:`~mpa_fer_plugin.visualization.draw_cgla_heatmap`
                (the PNG grows beyond ``display_size``), as in the
                pictures of the docs. Defaults to True; False draws the
                bare heatmap with a one-line banner.

        Returns:
            np.ndarray: The drawn RGB image.
        """
        from ...visualization import draw_cgla_heatmap
        return draw_cgla_heatmap(
            self.model, crop, out_file, class_name=class_name,
            classnames=self.inferencer.open_names,
            text_feats=self.inferencer.open_text_feats,
            display_size=display_size, legend=legend)

    def describe(self) -> Dict[str, Any]:
        """Detector, geometry and model card, for logs and result files.

        Returns:
            dict: ``detector``, ``geometry``, ``model`` (a one-line label
            of the card, e.g. ``'ZERO-SHOT ViT-B-16 (openai), no FER
            training'``) and ``model_card``.
        """
        return dict(detector=type(self.detector).__name__,
                    geometry=self.geometry.to_dict(),
                    model=self.model_label,
                    model_card=self.model_card)

    def label_drawing(self, drawn: np.ndarray) -> np.ndarray:
        """Add the strip naming the model (its card) under a drawing."""
        from ..model_card import draw_card_banner
        return draw_card_banner(drawn, self.model_card)
