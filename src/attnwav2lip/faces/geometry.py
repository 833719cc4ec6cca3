"""Crop a face box to the model's size and paste a generated face back with a feathered mask.

Only pixels inside the box can change, and inside it only where the mask is non-zero: everything
else stays bit-identical to the input frame, so blending never degrades the background.
"""

from __future__ import annotations

import numpy as np

from .boxes import int_box

# Face-oval indices of mediapipe's 468-point mesh (jaw line and cheeks) and the point under the nose.
_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152,
         148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)  # fmt: skip
_NOSE_TIP, _SUBNASALE = 1, 2
# Outer lip contour of the mesh, in order around the mouth (mediapipe's FACEMESH_LIPS outer ring).
_OUTER_LIPS = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185)
FACE_SIZE = 96  # the generator's face crops are FACE_SIZE x FACE_SIZE pixels
_MASK_SIDE = 128  # masks are drawn and blurred at most this wide, then resized to the box


def crop_face(frame: np.ndarray, box: np.ndarray, size: int = FACE_SIZE) -> np.ndarray:
    """``frame[y1:y2, x1:x2]`` (box truncated to integers, clipped) resized bilinearly to size x size."""
    import cv2

    x1, y1, x2, y2 = int_box(box, *frame.shape[:2])
    return cv2.resize(frame[y1:y2, x1:x2], (size, size), interpolation=cv2.INTER_LINEAR)


def crop_faces(frames: np.ndarray, boxes: np.ndarray, size: int = FACE_SIZE) -> np.ndarray:
    """Crop one box per frame: (N, H, W, 3) and (N, 4) -> (N, size, size, 3) uint8."""
    return np.stack([crop_face(f, b, size) for f, b in zip(frames, boxes)])


def lower_face_polygon(mesh: np.ndarray) -> np.ndarray | None:
    """Jaw-line polygon (frame pixels) from 468 mesh points: oval points at or below the nose tip.

    None when the mesh is missing (NaN), so callers fall back to the box mask.
    """
    mesh = np.asarray(mesh, np.float32)
    if mesh.shape != (468, 2) or not np.isfinite(mesh).all():
        return None
    oval = mesh[list(_OVAL)]
    lower = oval[oval[:, 1] >= mesh[_NOSE_TIP, 1]]
    return np.concatenate([lower, mesh[[_SUBNASALE]]]) if len(lower) >= 3 else None


def lip_polygon(mesh: np.ndarray) -> np.ndarray | None:
    """The outer lip contour (20 points, frame pixels) from 468 mesh points; None if the mesh is missing."""
    mesh = np.asarray(mesh, np.float32)
    if mesh.shape != (468, 2) or not np.isfinite(mesh).all():
        return None
    return mesh[list(_OUTER_LIPS)]


def lower_face_mask(height: int, width: int, polygon: np.ndarray | None = None, feather: float = 0.1) -> np.ndarray:
    """Float32 (height, width) weights in [0, 1] over a box: 1 on the lower face, 0 at the box edges.

    ``polygon`` (box-relative pixels) gives the region's outline, e.g. from ``lower_face_polygon``;
    without it an ellipse covers the lower half of the box, where the generator redraws the mouth.
    ``feather`` is the blur's sigma as a fraction of the box's shorter side. The mask is drawn and
    blurred at most ``_MASK_SIDE`` px wide and resized up, so its cost does not grow with the box.
    """
    import cv2

    scale = min(1.0, _MASK_SIDE / max(height, width))
    h, w = max(1, round(height * scale)), max(1, round(width * scale))
    region = np.zeros((h, w), np.float32)
    if polygon is not None:
        hull = cv2.convexHull(np.round(np.asarray(polygon) * scale).astype(np.int32))
        cv2.fillConvexPoly(region, hull, 1.0, lineType=cv2.LINE_AA)
    else:
        centre = (round(w / 2), round(h * 0.72))
        axes = (max(1, round(w * 0.4)), max(1, round(h * 0.24)))
        cv2.ellipse(region, centre, axes, 0, 0, 360, 1.0, thickness=-1, lineType=cv2.LINE_AA)
    sigma = max(feather * min(h, w), 0.5)
    region = cv2.GaussianBlur(region, (0, 0), sigma)
    if (h, w) != (height, width):
        region = cv2.resize(region, (width, height), interpolation=cv2.INTER_LINEAR)
    # Taper to exactly 0 at the box border so the paste leaves no rectangular seam.
    ramp = max(2.0 * sigma / scale, 1.0)
    ty = np.clip(np.minimum(np.arange(height), np.arange(height)[::-1]) / ramp, 0, 1)
    tx = np.clip(np.minimum(np.arange(width), np.arange(width)[::-1]) / ramp, 0, 1)
    return np.clip(region * ty[:, None].astype(np.float32) * tx[None, :].astype(np.float32), 0, 1)


def match_colour(face: np.ndarray, target: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Shift and scale each channel of ``face`` to ``target``'s weighted mean and std (uint8 out).

    Statistics use every ``step``-th pixel, and the mapping is a per-channel lookup table, so
    the cost stays small on large boxes.
    """
    step = max(1, min(face.shape[:2]) // 64)
    w = weights[::step, ::step, None].astype(np.float64)
    total = max(w.sum(), 1e-6)
    src, dst = face[::step, ::step].astype(np.float64), target[::step, ::step].astype(np.float64)
    mu_s, mu_d = (src * w).sum((0, 1)) / total, (dst * w).sum((0, 1)) / total
    sd_s = np.sqrt(((src - mu_s) ** 2 * w).sum((0, 1)) / total) + 1e-6
    sd_d = np.sqrt(((dst - mu_d) ** 2 * w).sum((0, 1)) / total)
    levels = np.arange(256, dtype=np.float64)[:, None]
    lut = np.clip(np.round((levels - mu_s) * (sd_d / sd_s) + mu_d), 0, 255).astype(np.uint8)  # (256, 3)
    return np.stack([lut[face[..., c], c] for c in range(3)], axis=-1)


def paste_face(
    frame: np.ndarray,
    face: np.ndarray,
    box: np.ndarray,
    *,
    landmarks: np.ndarray | None = None,
    feather: float = 0.1,
    colour_match: bool = False,
) -> np.ndarray:
    """A copy of ``frame`` with ``face`` (uint8, any size) blended into ``box``.

    ``landmarks``: the face's 468 mesh points in frame pixels (mask follows the jaw line), else
    the box's lower-half ellipse. Pixels where the mask is 0, and all pixels outside the box,
    are returned unchanged.
    """
    import cv2

    x1, y1, x2, y2 = int_box(box, *frame.shape[:2])
    height, width = y2 - y1, x2 - x1
    polygon = None if landmarks is None else lower_face_polygon(landmarks)
    if polygon is not None:
        polygon = polygon - np.array([x1, y1], np.float32)
    mask = lower_face_mask(height, width, polygon, feather)
    region = frame[y1:y2, x1:x2]
    resized = cv2.resize(face, (width, height), interpolation=cv2.INTER_LINEAR)
    if colour_match:
        resized = match_colour(resized, region, mask)
    # Only the mask's bounding rows/columns are blended, and only pixels with a non-zero weight
    # are written, so the rest of the frame stays bit-identical.
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    out = frame.copy()
    if len(rows):
        r, c = slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)
        m = np.ascontiguousarray(mask[r, c])
        blended = cv2.blendLinear(np.ascontiguousarray(resized[r, c]), np.ascontiguousarray(region[r, c]), m, 1 - m)
        np.copyto(out[y1:y2, x1:x2][r, c], blended, where=(m > 0)[..., None])
    return out
