"""Photos and videos: face detection, alignment and per-face expressions.

``FERPipeline(config, checkpoint)(image)`` returns one result per face;
:func:`process_video` runs it over a video or a webcam. Detectors are
registered in :data:`FACE_DETECTORS` (default ``'auto'``, :mod:`.auto`:
the ``yuface`` CNN where installed, else OpenCV's Haar cascades, else
scikit-image's LBP cascade; no download); crops
follow a :class:`CropGeometry` that matches the model's training crops.
"""
from .align import (
    GEOMETRIES,
    TEMPLATE_5,
    CropGeometry,
    align_face,
    build_geometry,
    calibrate_geometry,
    face_transform,
    geometry_for_config,
    save_geometry,
)
from .auto import auto_detector_name, build_face_detector
from .detectors import (
    FACE_DETECTORS,
    LANDMARK_NAMES,
    FaceDetections,
    HaarFaceDetector,
    MTCNNFaceDetector,
    WholeImageDetector,
    as_detections,
)
from .draw import draw_faces, upscale
from .lbp_detector import LBPFaceDetector
from .pipeline import FERPipeline
from .scenes import clutter, make_scene, match_boxes
from .tracking import EMASmoother, IoUTracker, box_iou, count_flips
from .video import iter_frames, open_video, process_video, write_video

__all__ = [
    'FACE_DETECTORS', 'LANDMARK_NAMES', 'FaceDetections', 'HaarFaceDetector',
    'MTCNNFaceDetector', 'WholeImageDetector', 'LBPFaceDetector',
    'as_detections', 'build_face_detector', 'auto_detector_name',
    'CropGeometry', 'GEOMETRIES', 'TEMPLATE_5',
    'align_face', 'build_geometry', 'calibrate_geometry', 'face_transform',
    'geometry_for_config', 'save_geometry', 'FERPipeline', 'draw_faces',
    'upscale', 'IoUTracker', 'EMASmoother', 'box_iou', 'count_flips',
    'open_video', 'iter_frames', 'process_video', 'write_video', 'clutter',
    'make_scene', 'match_boxes'
]
