"""Face alignment: from a detection to the crop geometry a model saw.

A :class:`CropGeometry` says where the face lies in the crops a model was
trained on: the crop side in pixels, the 5 landmark positions
(:data:`~.detectors.LANDMARK_NAMES`) as fractions of the side, and, for
detections without eyes, how large the crop is relative to the detector's
box and how far its centre sits below the box centre. :func:`align_face`
maps a detection to such a crop, choosing by what the detector gave:

* ``'landmarks5'``: all 5 points: the least-squares similarity transform
  (rotation, uniform scale, shift; ``cv2.estimateAffinePartial2D``) of the
  points onto the template;
* ``'eyes'``: the two eyes: the similarity transform that puts them on the
  template's eyes (eyes level, face centred, the template's margin);
* ``'box'``: nothing else: a square margin crop around the box, no
  rotation.

Every crop comes with a record (method, the 2x3 image-to-crop matrix,
geometry) that the results carry.

Presets (:data:`GEOMETRIES`): ``'rafdb_aligned'`` (100 px, the crop of
RAF-DB's ``Image/aligned``), ``'realigned_224'`` (the same framing at
224 px, for models trained on faces re-aligned at 224) and
``'ferplus_48'``; ``'demo_64'`` frames a face as the demo model's
64 px frames do (their tight end), ``'demo_64_yuface'`` the same for
yuface's landmarks, and ``'demo_64_auto'`` (:data:`BY_DETECTOR`, the demo
config's) picks one of the two by the detector. RAF-DB does not
publish its alignment template; the
presets use the common 5-point template of 112 px face crops (eye centres
at 34 % and 66 % of the width, 46 % of the height), which is an
assumption. :func:`calibrate_geometry` measures the geometry on a model's
own training crops instead, with the detector that will be used.
"""
import json
import os.path as osp
from dataclasses import asdict, dataclass, replace
from typing import Any, Dict, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from .detectors import as_detections

#: The 5-point template of 112 x 112 face crops (InsightFace's
#: ``arcface_dst``), as fractions of the side.
TEMPLATE_5 = ((38.2946 / 112, 51.6963 / 112), (73.5318 / 112, 51.5014 / 112),
              (56.0252 / 112, 71.7366 / 112), (41.5493 / 112, 92.3655 / 112),
              (70.7299 / 112, 92.2041 / 112))


@dataclass(frozen=True)
class CropGeometry:
    """Where the face lies in a model's training crops.

    Args:
        size (int): Crop side in pixels.
        template (tuple): 5 ``(x, y)`` landmark positions as fractions of
            the side (order of :data:`~.detectors.LANDMARK_NAMES`).
        box_scale (float): Crop side / detector box side, for detections
            without eyes.
        box_shift (float): Crop centre below the box centre, in box
            heights, for detections without eyes. The defaults (1.57,
            -0.06) put the eyes of the Haar detection on scikit-image's
            ``astronaut`` photo (eyes found) where ``template`` has them;
            one photo, so a rough prior: prefer :func:`calibrate_geometry`.
        name (str): Named in the results.
    """

    size: int = 100
    template: Tuple[Tuple[float, float], ...] = TEMPLATE_5
    box_scale: float = 1.57
    box_shift: float = -0.06
    name: str = 'rafdb_aligned'

    def __post_init__(self) -> None:
        if int(self.size) < 8:
            raise ValueError(f'CropGeometry: size={self.size} must be >= 8')
        pts = np.asarray(self.template, np.float64)
        if pts.shape != (5, 2) or not np.all(np.isfinite(pts)):
            raise ValueError('CropGeometry: template must be 5 (x, y) '
                             f'pairs, got {self.template!r}')
        if not self.box_scale > 0:
            raise ValueError(f'CropGeometry: box_scale={self.box_scale} '
                             'must be > 0')
        object.__setattr__(self, 'size', int(self.size))
        object.__setattr__(self, 'template',
                           tuple(tuple(map(float, p)) for p in pts))

    def points(self) -> np.ndarray:
        """The template in crop pixels, ``(5, 2)``."""
        return np.asarray(self.template, np.float64) * self.size

    def to_dict(self) -> Dict[str, Any]:
        """A JSON-friendly copy."""
        out = asdict(self)
        out['template'] = [list(p) for p in self.template]
        return out


#: The demo world's frames (:mod:`mpa_fer_plugin.datasets.synthetic_faces`)
#: around a face box of height 1 and width 0.8 (eyes at +-0.37
#: half-widths and 0.18 half-heights above the centre, nose tip 0.2 and
#: mouth 0.5 half-heights below, mouth half-width 0.25 half-widths). A
#: frame is 1.15-1.63 face heights (the face box covers 30-60 % of it);
#: the side 1.15 was the best of 0.95-1.7 for the demo model on scenes of
#: demo *training* faces (README, "Photos and videos").
_DEMO_SIDE = 1.15


def _demo_template(points, side: float) -> Tuple[Tuple[float, float], ...]:
    """Face-box points (half-widths, half-heights) in a demo frame."""
    return tuple((0.5 + 0.8 * x / 2 / side, 0.5 + y / 2 / side)
                 for x, y in points)


_DEMO_TEMPLATE = _demo_template(
    ((-0.37, -0.18), (0.37, -0.18), (0.0, 0.2), (-0.25, 0.5), (0.25, 0.5)),
    _DEMO_SIDE)
#: Where yuface puts its 5 points on the demo faces (median over the 479
#: faces it found in scenes of demo *training* faces, scene seeds
#: 100-104): eyes wider and higher, nose and mouth higher, mouth wider than
#: the drawn features; its box is 0.93 x 0.92 of the face box, centred.
#: The side 1.25 face heights was the best of 1.05, 1.15, 1.25, 1.35 for
#: the demo model on those scenes (found faces right: 64.3, 66.8, 67.2,
#: 61.4 %; ``demo_64``: 61.2 %; README, "Photos and videos").
_YUFACE_POINTS = ((-0.402, -0.247), (0.423, -0.243), (-0.001, 0.106),
                  (-0.334, 0.4), (0.347, 0.416))
_YUFACE_SIDE = 1.25

#: Named presets (see the module docstring).
GEOMETRIES: Dict[str, CropGeometry] = {
    'rafdb_aligned': CropGeometry(100, name='rafdb_aligned'),
    'realigned_224': CropGeometry(224, name='realigned_224'),
    'ferplus_48': CropGeometry(48, name='ferplus_48'),
    # The demo model's 64 px frames; the box terms assume a detector box
    # as high as the face (the Haar box on the demo faces: 0.99 face
    # heights, centred to 2 %, measured on scenes of training faces).
    'demo_64': CropGeometry(64, _DEMO_TEMPLATE, box_scale=float(_DEMO_SIDE),
                            box_shift=0.0, name='demo_64'),
    # The demo frames for yuface's 5 points (YuFaceDetector always gives
    # them); the box terms frame a box as high as the face at the same
    # side (the true-box crops of the evaluation; yuface's own box is 0.92
    # face heights).
    'demo_64_yuface': CropGeometry(
        64, _demo_template(_YUFACE_POINTS, _YUFACE_SIDE),
        box_scale=_YUFACE_SIDE, box_shift=0.0, name='demo_64_yuface'),
}

#: Presets that depend on the detector: name -> {detector class name:
#: preset}, ``'*'`` for any other detector (:func:`build_geometry`).
BY_DETECTOR: Dict[str, Dict[str, str]] = {
    'demo_64_auto': {'YuFaceDetector': 'demo_64_yuface', '*': 'demo_64'},
}

GeometrySpec = Union[None, str, dict, CropGeometry]


def build_geometry(spec: GeometrySpec, size: Optional[int] = None,
                   detector: Optional[str] = None) -> CropGeometry:
    """A :class:`CropGeometry` from a preset name, a JSON file or a dict.

    Args:
        spec: None (``'rafdb_aligned'``), a name of :data:`GEOMETRIES` or
            :data:`BY_DETECTOR`, a ``.json`` file written by
            :func:`save_geometry`, a dict of the fields, or a geometry.
        size (int, optional): Overrides the crop side.
        detector (str, optional): Class name of the detector, for the
            presets of :data:`BY_DETECTOR` (``'demo_64_auto'``:
            ``'demo_64_yuface'`` for ``'YuFaceDetector'``, else
            ``'demo_64'``).

    Returns:
        CropGeometry: The geometry.
    """
    if spec is None:
        spec = 'rafdb_aligned'
    if isinstance(spec, str) and spec in BY_DETECTOR:
        table = BY_DETECTOR[spec]
        spec = table.get(detector or '', table['*'])
    if isinstance(spec, str):
        if spec in GEOMETRIES:
            spec = GEOMETRIES[spec]
        elif spec.endswith('.json'):
            if not osp.isfile(spec):
                raise FileNotFoundError(f'crop geometry file not found: '
                                        f'{spec}')
            with open(spec, encoding='utf-8') as f:
                spec = json.load(f)
        else:
            raise KeyError(f'unknown crop geometry {spec!r}; presets: '
                           f'{sorted(GEOMETRIES)} or a .json file')
    if isinstance(spec, dict):
        unknown = set(spec) - set(CropGeometry.__dataclass_fields__)
        if unknown:
            raise ValueError(f'unknown crop geometry keys {sorted(unknown)}')
        spec = CropGeometry(**spec)
    if not isinstance(spec, CropGeometry):
        raise TypeError(f'cannot build a crop geometry from '
                        f'{type(spec).__name__}')
    return replace(spec, size=size) if size is not None else spec


def save_geometry(geometry: CropGeometry, path: str) -> str:
    """Write a geometry as JSON (read back by :func:`build_geometry`)."""
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(geometry.to_dict(), f, indent=2)
    return path


def geometry_for_config(cfg, detector: Optional[str] = None
                        ) -> CropGeometry:
    """The crop geometry that matches a model config's training data.

    A top-level ``face_geometry`` (preset name, JSON file or dict) wins.
    Otherwise the test dataset decides: RAF-DB ``image_source='aligned'``
    (and generated faces in its layout) -> ``'rafdb_aligned'`` at the
    dataset's crop size (100); ``'original'`` and AffectNet ->
    ``'realigned_224'``; FERPlus -> ``'ferplus_48'``.

    Args:
        cfg (Config | dict): The model's config.
        detector (str, optional): Class name of the detector (for a
            ``face_geometry`` of :data:`BY_DETECTOR`).

    Returns:
        CropGeometry: The geometry.
    """
    explicit = cfg.get('face_geometry', None) if cfg is not None else None
    if explicit is not None:
        return build_geometry(explicit, detector=detector)
    try:
        dataset = cfg['test_dataloader']['dataset']
    except (KeyError, TypeError):
        return GEOMETRIES['rafdb_aligned']
    kind = str(dataset.get('type', '')).split('.')[-1]
    if kind == 'FERPlus':
        return GEOMETRIES['ferplus_48']
    if kind.startswith('AffectNet') or \
            dataset.get('image_source') == 'original':
        return GEOMETRIES['realigned_224']
    return GEOMETRIES['rafdb_aligned']


def _similarity_from_pairs(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Exact similarity (2x3) mapping 2 points ``src`` onto ``dst``."""
    s = complex(*(src[1] - src[0]))
    d = complex(*(dst[1] - dst[0]))
    if abs(s) < 1e-6:
        raise ValueError('the two eyes coincide')
    a = d / s  # rotation and scale as one complex number
    t = complex(*dst[0]) - a * complex(*src[0])
    return np.array([[a.real, -a.imag, t.real], [a.imag, a.real, t.imag]],
                    np.float64)


def face_transform(box: np.ndarray, landmarks: Optional[np.ndarray],
                   geometry: CropGeometry) -> Tuple[np.ndarray, str]:
    """The image-to-crop matrix of one detection and the method used.

    Args:
        box (np.ndarray): ``x1, y1, x2, y2``.
        landmarks (np.ndarray, optional): ``(5, 2)``, NaN where unknown.
        geometry (CropGeometry): Target geometry.

    Returns:
        tuple[np.ndarray, str]: The 2x3 matrix and ``'landmarks5'``,
        ``'eyes'`` or ``'box'``.
    """
    box = np.asarray(box, np.float64)
    dst = geometry.points()
    if landmarks is not None:
        pts = np.asarray(landmarks, np.float64).reshape(5, 2)
        known = np.all(np.isfinite(pts), axis=1)
        if known.all():
            mat, _ = cv2.estimateAffinePartial2D(pts, dst)
            if mat is not None:
                return mat, 'landmarks5'
        if known[:2].all() and np.linalg.norm(pts[1] - pts[0]) > 1:
            return _similarity_from_pairs(pts[:2], dst[:2]), 'eyes'
    w, h = box[2] - box[0], box[3] - box[1]
    side = geometry.box_scale * max(w, h)
    cx = (box[0] + box[2]) / 2
    cy = (box[1] + box[3]) / 2 + geometry.box_shift * h
    k = geometry.size / side
    mat = np.array([[k, 0, geometry.size / 2 - k * cx],
                    [0, k, geometry.size / 2 - k * cy]], np.float64)
    return mat, 'box'


def align_face(image: np.ndarray, box: np.ndarray,
               landmarks: Optional[np.ndarray] = None,
               geometry: GeometrySpec = None
               ) -> Tuple[np.ndarray, Dict[str, Any]]:
    """Cut one face out of ``image`` in the geometry a model saw.

    Args:
        image (np.ndarray): BGR image.
        box (np.ndarray): ``x1, y1, x2, y2``.
        landmarks (np.ndarray, optional): ``(5, 2)``, NaN where unknown.
        geometry: A :class:`CropGeometry` or what :func:`build_geometry`
            takes. Defaults to ``'rafdb_aligned'``.

    Returns:
        tuple[np.ndarray, dict]: The ``size x size`` BGR crop (borders
        replicated) and its record: ``method``, ``matrix`` (2x3, image to
        crop), ``size`` and ``geometry`` (the preset's name).
    """
    geometry = build_geometry(geometry)
    mat, method = face_transform(box, landmarks, geometry)
    crop = cv2.warpAffine(image, mat, (geometry.size, geometry.size),
                          flags=cv2.INTER_AREA if mat[0, 0] < 1
                          else cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)
    record = dict(method=method, matrix=np.round(mat, 6).tolist(),
                  size=geometry.size, geometry=geometry.name)
    return crop, record


def calibrate_geometry(detector, crops: Sequence[np.ndarray],
                       pad: float = 1.0, name: str = 'calibrated',
                       size: Optional[int] = None) -> CropGeometry:
    """Measure the crop geometry on a model's own training crops.

    Each crop is padded by ``pad`` times its side on every side
    (replicated border, so the detector sees the whole face) and run
    through ``detector``; the median relation between the detected box
    and the crop gives ``box_scale`` and ``box_shift``, the median eye
    positions (when found) move the template's eyes. Use it when the
    training crops' alignment template is unknown.

    Args:
        detector: An object with ``detect`` (see :mod:`.detectors`).
        crops (Sequence[np.ndarray]): BGR training crops (square).
        pad (float): Padding per side, in crop sides. Defaults to 1.
        name (str): Name of the geometry. Defaults to ``'calibrated'``.
        size (int, optional): Crop side; default: the crops' side.

    Returns:
        CropGeometry: The measured geometry.
    """
    scales, shifts, eyes = [], [], []
    for crop in crops:
        side = crop.shape[0]
        p = int(round(pad * side))
        big = cv2.copyMakeBorder(crop, p, p, p, p, cv2.BORDER_REPLICATE)
        dets = as_detections(detector.detect(big),
                             type(detector).__name__)
        if len(dets) == 0:
            continue
        centre = p + side / 2
        dist = np.abs((dets.boxes[:, :2] + dets.boxes[:, 2:]) / 2 - centre)
        i = int(np.argmin(dist.sum(axis=1)))  # the face, not a false hit
        x1, y1, x2, y2 = dets.boxes[i]
        w, h = x2 - x1, y2 - y1
        scales.append(side / max(w, h))
        shifts.append((centre - (y1 + y2) / 2) / h)
        pts = dets.landmarks[i, :2]
        if np.all(np.isfinite(pts)):
            eyes.append((pts - p) / side)
    if not scales:
        raise ValueError(f'calibrate_geometry: the detector found no face '
                         f'in any of the {len(crops)} crops')
    template = np.asarray(TEMPLATE_5, np.float64)
    if eyes:
        shift = np.median(np.stack(eyes), axis=0) - template[:2]
        template = template + shift.mean(axis=0)  # move, keep the shape
        template[:2] += shift - shift.mean(axis=0)
    return CropGeometry(size=size or int(crops[0].shape[0]),
                        template=tuple(map(tuple, template)),
                        box_scale=float(np.median(scales)),
                        box_shift=float(np.median(shifts)), name=name)
