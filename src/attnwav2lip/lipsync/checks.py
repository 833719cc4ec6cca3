"""Checks of ``sync``'s face options against the input: a box or face choice that selects nothing
must say so, not leave every frame unedited without a word.

Boxes here are the original's (top, bottom, left, right) in working-frame pixels.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Sequence

import numpy as np

from ..errors import ConfigError, NoFaceError

if TYPE_CHECKING:
    from ..faces import Detections, FaceTrack

log = logging.getLogger(__name__)

MIN_FACE_SIDE = 8  # pixels: a smaller box has nothing left to edit once scaled to 96 x 96


def check_box_order(box: Sequence[int]) -> None:
    """``--box`` must have top < bottom and left < right (ConfigError)."""
    top, bottom, left, right = box
    if not (top < bottom and left < right):
        raise ConfigError(f"--box {top} {bottom} {left} {right}: needs TOP < BOTTOM and LEFT < RIGHT")


def check_box_in_frame(box: Sequence[int], width: int, height: int) -> tuple[int, int, int, int]:
    """``box`` clipped to a width x height frame, with a warning when clipping changed it;
    ConfigError when less than MIN_FACE_SIDE pixels of it fall inside the frame."""
    top, bottom, left, right = (int(v) for v in box)
    clipped = (max(top, 0), min(bottom, height), max(left, 0), min(right, width))
    if clipped[1] - clipped[0] < MIN_FACE_SIDE or clipped[3] - clipped[2] < MIN_FACE_SIDE:
        raise ConfigError(f"--box {top} {bottom} {left} {right} leaves no face inside the {width}x{height} frame "
                          f"(rows 0..{height}, columns 0..{width})")
    if clipped != (top, bottom, left, right):
        log.warning("warning: --box %d %d %d %d reaches outside the %dx%d frame; using %d %d %d %d",
                    top, bottom, left, right, width, height, *clipped)
    return clipped


def check_face_index(index: int, track: "FaceTrack", detections: Sequence["Detections"],
                     path: str | os.PathLike[str]) -> None:
    """NoFaceError when ``--face-index`` asks for a face beyond those found, naming how many were."""
    found = max((len(d) for d in detections), default=0)
    if index > 0 and not track.present.any() and found <= index:
        faces = "no face" if found == 0 else f"at most {found} face{'s' if found > 1 else ''} per frame"
        raise NoFaceError(f"--face-index {index}: {faces} found in {path} "
                          f"(valid indices: {'none' if found == 0 else f'0..{found - 1}'})")


def check_padded_boxes(track: "FaceTrack", pads: Sequence[int]) -> None:
    """ConfigError when ``--pads`` shrink a found face to (almost) nothing, in any frame."""
    boxes = track.boxes[track.present]
    if not len(boxes):
        return
    sides = np.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    if sides.min() < MIN_FACE_SIDE:
        frame = int(np.flatnonzero(track.present)[int(np.argmin(sides))])
        raise ConfigError(f"--pads {' '.join(map(str, pads))} leave a box {max(float(sides.min()), 0):.0f} px wide "
                          f"in frame {frame}: nothing of the face to edit (negative pads shrink the box)")
