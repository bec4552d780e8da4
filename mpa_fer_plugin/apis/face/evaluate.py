"""Measuring the face pipeline on generated scenes and videos.

The code lives in three modules by responsibility; this module gathers
their public names (``from mpa_fer_plugin.apis.face import evaluate as
ev`` keeps working):

* :mod:`.demo_faces`: the demo world's faces as test material
  (:func:`load_demo_faces`, :func:`world_face_specs`,
  :func:`world_frame`, :func:`face_scene`, :func:`drawn_scenes`);
* :mod:`.scene_eval`: detection and classification on scenes of known
  faces (:func:`evaluate_scenes`, :func:`evaluate_face_scenes`,
  :func:`clutter_false_positives`, paired tables and markdown rows);
* :mod:`.video_eval`: label stability on videos of known faces
  (:func:`expression_video`, :func:`score_video`,
  :func:`paired_video_table`, :func:`video_row`).
"""
from .demo_faces import (
    DEMO_WORLD_FACES,
    REGION_EXTENT,
    drawn_scenes,
    face_box_from_regions,
    face_scene,
    load_demo_faces,
    scene_faces,
    world_face_specs,
    world_frame,
)
from .scene_eval import (
    FACE_SCENE_HEADER,
    SCENE_HEADER,
    clutter_false_positives,
    evaluate_face_scenes,
    evaluate_scenes,
    face_scene_row,
    paired_scene_table,
    scene_row,
    summarize_faces,
)
from .video_eval import (
    VIDEO_HEADER,
    VIDEO_PLAN,
    expression_video,
    paired_video_table,
    score_video,
    video_row,
)

__all__ = [
    'DEMO_WORLD_FACES', 'REGION_EXTENT', 'drawn_scenes',
    'face_box_from_regions', 'face_scene', 'load_demo_faces', 'scene_faces',
    'world_face_specs', 'world_frame', 'FACE_SCENE_HEADER', 'SCENE_HEADER',
    'clutter_false_positives', 'evaluate_face_scenes', 'evaluate_scenes',
    'face_scene_row', 'paired_scene_table', 'scene_row', 'summarize_faces',
    'VIDEO_HEADER', 'VIDEO_PLAN', 'expression_video', 'paired_video_table',
    'score_video', 'video_row'
]
