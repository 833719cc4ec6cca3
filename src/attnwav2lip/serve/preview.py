"""The preview: the first frame with the chosen face's box, the area that will be repainted, and the
other faces numbered by face index, so pads and face index can be fixed before the long run."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from .. import SyncOptions
from ..faces import Detections, FrameTransform, TrackConfig, create_detector, lower_face_mask, track_faces
from ..video import read_image

CHOSEN = (40, 220, 80)  # box of the face that will speak
OTHER = (160, 160, 160)  # boxes of the other faces
REPAINT = np.array((255, 0, 200), np.float32)  # tint of the repainted area


@dataclass(frozen=True)
class Preview:
    image: np.ndarray  # (H, W, 3) uint8 RGB: the working frame with the overlay
    faces: int  # faces detected in the first frame (0 with a fixed box: none were looked for)
    box: tuple[int, int, int, int] | None  # (top, bottom, left, right) that will be used, padded

    def summary(self) -> str:
        """One line for the page."""
        found = "fixed box" if self.faces == 0 and self.box is not None else (
            f"{self.faces} face{'s' if self.faces != 1 else ''} found")
        if self.box is None:
            return f"{found}; no face will be repainted with these settings"
        top, bottom, left, right = self.box
        return f"{found}; repainting box top {top}, bottom {bottom}, left {left}, right {right}"


def preview(face: str | os.PathLike[str], options: SyncOptions) -> Preview:
    """Detect faces in the first working frame as ``sync`` would, and draw what it will repaint."""
    frame = FrameTransform(options.resize_factor, options.rotate, tuple(options.crop))(read_image(face))
    height, width = frame.shape[:2]
    box = None if options.box is None else _xyxy(options.box)
    if box is None:
        with create_detector(options.detector, max_side=options.detect_max_side) as detector:
            found = detector.detect([frame])[0]
    else:
        found = Detections.empty()
    track = track_faces([found], (height, width),
                        TrackConfig(speaker=options.face_index, smooth=1, pads=tuple(options.pads), box=box))
    chosen = track.box(0)
    image = _draw(frame, found.boxes, chosen, options.feather)
    return Preview(image, len(found), None if chosen is None else _tblr(chosen, height, width))


def _draw(frame: np.ndarray, others: np.ndarray, chosen: np.ndarray | None, feather: float) -> np.ndarray:
    import cv2

    image = frame.copy()
    line = max(1, round(max(frame.shape[:2]) / 300))
    order = np.argsort(-(others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])) if len(others) else []
    for rank, k in enumerate(order):  # on one frame, face index = rank by size
        x1, y1, x2, y2 = (int(v) for v in others[k])
        cv2.rectangle(image, (x1, y1), (x2, y2), OTHER, line)
        cv2.putText(image, str(rank), (x1 + 2 * line, y1 + 12 * line), cv2.FONT_HERSHEY_SIMPLEX, 0.4 * line,
                    OTHER, line, cv2.LINE_AA)
    if chosen is not None:
        top, bottom, left, right = _tblr(chosen, *frame.shape[:2])
        if bottom > top and right > left:
            mask = lower_face_mask(bottom - top, right - left, feather=feather)[..., None] * 0.6
            region = image[top:bottom, left:right].astype(np.float32)
            image[top:bottom, left:right] = np.round(region * (1 - mask) + REPAINT * mask).astype(np.uint8)
        cv2.rectangle(image, (left, top), (right - 1, bottom - 1), CHOSEN, line)
    return image


def _xyxy(box: tuple[int, int, int, int]) -> tuple[float, float, float, float]:
    top, bottom, left, right = box
    return float(left), float(top), float(right), float(bottom)


def _tblr(box: np.ndarray, height: int, width: int) -> tuple[int, int, int, int]:
    """x1, y1, x2, y2 floats -> (top, bottom, left, right) ints inside the frame."""
    x1, y1, x2, y2 = box
    return (int(np.clip(y1, 0, height)), int(np.clip(y2, 0, height)),
            int(np.clip(x1, 0, width)), int(np.clip(x2, 0, width)))
