"""Shared data of the face tests: a real photograph and hand annotations.

``astronaut()`` is scikit-image's portrait (shipped in its wheel, offline)
as BGR. The face box and the eye/mouth centres below were annotated by
hand on a 25 px grid (not taken from any detector).
"""
import numpy as np

#: Hand-annotated face (brows to chin, cheek to cheek), x1, y1, x2, y2.
ASTRONAUT_FACE = np.array([180, 75, 272, 190], np.float32)
#: Hand-annotated left eye, right eye and mouth centres (x, y).
ASTRONAUT_POINTS = np.array([[207, 102], [245, 103], [222, 145]],
                            np.float32)


def astronaut() -> np.ndarray:
    """The 512 x 512 portrait as a BGR uint8 array."""
    from skimage import data
    return np.ascontiguousarray(data.astronaut()[:, :, ::-1])


def astronaut_face_patch(pad: float = 0.35):
    """A square patch around the face and the face box inside it (0-1)."""
    x1, y1, x2, y2 = ASTRONAUT_FACE
    side = max(x2 - x1, y2 - y1) * (1 + 2 * pad)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    a, b = int(cx - side / 2), int(cy - side / 2)
    s = int(side)
    patch = astronaut()[max(b, 0):b + s, a:a + s]
    s = patch.shape[0]
    box = ((x1 - a) / s, (y1 - max(b, 0)) / s, (x2 - a) / s,
           (y2 - max(b, 0)) / s)
    return patch, box
