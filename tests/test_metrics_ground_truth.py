"""PSNR / SSIM / L1 in a region, against scikit-image and hand values."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from attnwav2lip.metrics.ground_truth import mouth_metrics, region_l1, ssim


def _pair(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    true = rng.integers(0, 256, (3, 64, 80, 3), dtype=np.uint8)
    noise = rng.integers(-20, 21, true.shape)
    return np.clip(true.astype(int) + noise, 0, 255).astype(np.uint8), true


def test_matches_scikit_image() -> None:
    pred, true = _pair()
    box = (10, 20, 60, 60)
    m = mouth_metrics(pred, true, box)
    crops = [(p[20:60, 10:60], t[20:60, 10:60]) for p, t in zip(pred, true)]
    expected_ssim = np.mean([
        structural_similarity(p, t, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                              data_range=255, channel_axis=-1)
        for p, t in crops
    ])
    pooled_pred = np.concatenate([p for p, _ in crops])
    pooled_true = np.concatenate([t for _, t in crops])
    expected_psnr = peak_signal_noise_ratio(pooled_true, pooled_pred, data_range=255)  # PSNR of the pooled MSE
    assert m.ssim == pytest.approx(expected_ssim, abs=1e-9)
    assert m.psnr == pytest.approx(expected_psnr, abs=1e-9)
    assert m.l1 == pytest.approx(np.mean([np.abs(p.astype(int) - t).mean() / 255 for p, t in crops]))
    assert m.num_frames == 3


def test_region_only_and_edge_cases() -> None:
    pred, true = _pair()
    inside = true.copy()
    inside[:, :10] = 0  # differences outside the box do not count
    assert mouth_metrics(inside, true, (20, 20, 70, 60)).psnr == np.inf
    one_exact = np.stack([true[0], pred[1]])  # one frame exact, one not: finite
    assert np.isfinite(mouth_metrics(one_exact, true[:2]).psnr)
    same = mouth_metrics(true[0], true[0])
    assert same.ssim == pytest.approx(1.0) and same.l1 == 0.0 and same.num_frames == 1
    per_frame = np.array([[0, 0, 40, 40], [10, 10, 50, 50], [20, 20, 60, 60]])
    assert mouth_metrics(pred, true, per_frame).num_frames == 3
    assert ssim(np.zeros((16, 16, 3)), np.full((16, 16, 3), 255.0)) < 0.01
    with pytest.raises(ValueError, match="differ in shape"):
        mouth_metrics(pred, true[:2])
    with pytest.raises(ValueError, match="empty"):
        mouth_metrics(pred, true, (90, 0, 100, 10))
    with pytest.raises(ValueError, match="11x11"):
        mouth_metrics(pred, true, (0, 0, 8, 8))


def test_region_l1_agrees_with_mouth_metrics_and_takes_small_regions() -> None:
    rng = np.random.default_rng(3)
    a, b = (rng.integers(0, 256, (3, 40, 50, 3), dtype=np.uint8) for _ in range(2))
    boxes = np.array([[5, 6, 30, 33], [0, 0, 50, 40], [10, 12, 45, 38]])
    assert region_l1(a, b, boxes) == pytest.approx(mouth_metrics(a, b, boxes).l1)
    expected = np.mean([np.abs(a[k, 2:5, 3:7].astype(float) - b[k, 2:5, 3:7]).mean() / 255 for k in range(3)])
    assert region_l1(a, b, (3, 2, 7, 5)) == pytest.approx(expected)  # 4x3 pixels: too small for SSIM
