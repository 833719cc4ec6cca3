"""Where the lips are in every frame of a SynthTalk render: the true lip box.

The renderer draws the lips at ``mouth_contours`` in the canonical canvas and warps the canvas with
the pose homography, so the outer lip contour warped the same way bounds exactly the pixels the
lips cover. ``attention-maps`` uses it instead of a fixed guess of where a crop's mouth is.
"""

from __future__ import annotations

import json
import os

import numpy as np

from ..errors import ConfigError
from .face import geometry, mouth_contours
from .identity import Identity
from .render import Size, frame_size, homography


def lip_boxes(identity: Identity, pose: np.ndarray, mouth: np.ndarray, size: Size) -> np.ndarray:
    """(T, 4) float32 x1, y1, x2, y2 frame pixels bounding the outer lip contour of each frame.

    ``pose`` (T, 6) and ``mouth`` (T, 6) are the motion's poses and the mouth track as rendered.
    """
    width, height = frame_size(size)
    g = geometry(identity, min(width, height))  # the sprite's canvas is the frame's shorter side
    out = np.empty((len(mouth), 4), np.float32)
    for i, (p, m) in enumerate(zip(pose, mouth)):
        lips = mouth_contours(g, m)
        points = np.concatenate([lips["outer_upper"], lips["outer_lower"]])
        q = homography(g, p, width, height) @ np.vstack([points.T, np.ones(len(points))])
        q = q[:2] / q[2]
        out[i] = q[0].min(), q[1].min(), q[0].max(), q[1].max()
    return out


def clip_lip_boxes(truth_npz: str | os.PathLike[str]) -> np.ndarray:
    """The true mouth box of every frame of a corpus clip, from its truth file (``clips/<id>.npz``)."""
    try:
        with np.load(truth_npz) as truth:
            meta = json.loads(str(truth["meta"]))
            pose, mouth = truth["pose"], truth["mouth"]
        identity = Identity.from_dict(meta["identity"])
        size = meta["size"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{truth_npz}: not a SynthTalk truth file (clips/<id>.npz with meta, pose, mouth): {exc}") from None
    return lip_boxes(identity, pose, mouth, size if isinstance(size, int) else tuple(size))
