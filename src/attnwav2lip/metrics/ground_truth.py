"""Ground-truth metrics where the true frames exist (SynthTalk): PSNR, SSIM and L1 in a region.

On real data a re-voiced video has no ground truth, which is why LSE exists; on SynthTalk the
true mouth for any audio is rendered, so a generated mouth can be compared with it directly.

Conventions: uint8 RGB frames, one region box (x1, y1, x2, y2, half-open pixels) for all frames
or one per frame. PSNR uses a peak of 255, L1 is in [0, 1] units (the generator's L1 loss),
SSIM is Wang et al.'s with an 11x11 Gaussian window (sigma 1.5), computed per channel and
averaged, identical to ``skimage.metrics.structural_similarity(..., gaussian_weights=True,
sigma=1.5, use_sample_covariance=False, data_range=255, channel_axis=-1)``. Each metric is
computed per frame and averaged over frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

_K1, _K2, _SIGMA, _TRUNCATE = 0.01, 0.03, 1.5, 3.5
_MARGIN = 5  # (11 - 1) // 2: border left out of the mean, as scikit-image does


@dataclass(frozen=True)
class RegionMetrics:
    """Means over frames; ``psnr`` comes from the mean squared error over all frames (a per-frame
    mean would be inf as soon as one frame matches exactly, e.g. a closed mouth in silence), so it
    is inf only when every frame matches."""

    psnr: float
    ssim: float
    l1: float
    num_frames: int


def mouth_metrics(pred: np.ndarray, true: np.ndarray, box: np.ndarray | tuple[int, int, int, int] | None = None) -> RegionMetrics:
    """PSNR / SSIM / L1 between generated and true frames inside ``box`` (the whole frame if None).

    ``pred`` and ``true``: uint8 (H, W, 3) or (N, H, W, 3); ``box``: (4,) for all frames or (N, 4).
    """
    mses, ssims, l1s = [], [], []
    for a, b in _regions(pred, true, box):
        mses.append(np.mean((a - b) ** 2))
        ssims.append(ssim(a, b))
        l1s.append(np.mean(np.abs(a - b)) / 255.0)
    mse = float(np.mean(mses))
    psnr = np.inf if mse == 0 else 10.0 * np.log10(255.0**2 / mse)
    return RegionMetrics(float(psnr), float(np.mean(ssims)), float(np.mean(l1s)), len(mses))


def region_l1(pred: np.ndarray, true: np.ndarray, box: np.ndarray | tuple[int, int, int, int] | None = None) -> float:
    """Mean absolute difference in [0, 1] units inside ``box``, per frame then averaged; a region of
    any size (``mouth_metrics`` needs 11x11 pixels for SSIM)."""
    return float(np.mean([np.mean(np.abs(a - b)) / 255.0 for a, b in _regions(pred, true, box)]))


def _regions(pred: np.ndarray, true: np.ndarray, box: np.ndarray | tuple[int, int, int, int] | None
             ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Per frame, the generated and true pixels inside the frame's box, as float64."""
    pred, true = _as_frame_batch(pred), _as_frame_batch(true)
    if pred.shape != true.shape:
        raise ValueError(f"generated and true frames differ in shape: {pred.shape} vs {true.shape}")
    for p, t, (x1, y1, x2, y2) in zip(pred, true, _region_boxes(box, pred.shape)):
        yield p[y1:y2, x1:x2].astype(np.float64), t[y1:y2, x1:x2].astype(np.float64)


def ssim(a: np.ndarray, b: np.ndarray, data_range: float = 255.0) -> float:
    """Mean SSIM of two (H, W, C) images (H, W >= 11), Gaussian window, per channel then averaged."""
    from scipy.ndimage import gaussian_filter

    if min(a.shape[:2]) < 2 * _MARGIN + 1:
        raise ValueError(f"SSIM needs a region of at least 11x11 pixels, got {a.shape[1]}x{a.shape[0]}")
    c1, c2 = (_K1 * data_range) ** 2, (_K2 * data_range) ** 2
    values = []
    for channel in range(a.shape[2]):
        x, y = a[..., channel].astype(np.float64), b[..., channel].astype(np.float64)

        def blur(image: np.ndarray) -> np.ndarray:
            return gaussian_filter(image, sigma=_SIGMA, truncate=_TRUNCATE)

        mx, my = blur(x), blur(y)
        vx, vy, cxy = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
        s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
        values.append(s[_MARGIN:-_MARGIN, _MARGIN:-_MARGIN].mean())
    return float(np.mean(values))


def _as_frame_batch(frames: np.ndarray) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.ndim == 3:
        frames = frames[None]
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"expected RGB frames (H, W, 3) or (N, H, W, 3), got {frames.shape}")
    return frames


def _region_boxes(box: np.ndarray | tuple[int, int, int, int] | None, shape: tuple[int, ...]) -> np.ndarray:
    n, height, width = shape[:3]
    if box is None:
        return np.tile([0, 0, width, height], (n, 1))
    boxes = np.asarray(box, dtype=np.float64).reshape(-1, 4)
    if len(boxes) == 1:
        boxes = np.tile(boxes, (n, 1))
    if len(boxes) != n:
        raise ValueError(f"{len(boxes)} boxes for {n} frames")
    boxes = np.round(boxes).astype(int)
    boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, width)
    boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, height)
    if ((boxes[:, 2] <= boxes[:, 0]) | (boxes[:, 3] <= boxes[:, 1])).any():
        raise ValueError("a region box is empty inside the frame")
    return boxes
