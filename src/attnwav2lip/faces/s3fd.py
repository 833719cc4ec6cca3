"""S3FD, the detector of the original Wav2Lip, reimplemented exactly (``face_detection/detection/sfd/``).

It loads the user's original ``s3fd.pth`` (65 keys, a plain state dict) unchanged: the original
feeds RGB minus (104, 117, 123), so an RGB pipeline needs no channel flip. The network, priors,
decoding (variances 0.1 / 0.2), the 0.05 pre-filter, NMS at 0.3 with inclusive-pixel IoU and the
0.5 final threshold follow the original; decoding is vectorised (same float32 arithmetic) instead
of a Python loop over cells, and ties in NMS are broken by candidate order (stable sort).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..checkpoints import safe_torch_load
from ..errors import CheckpointError
from .cache import content_digest
from .detection import Detections, Detector

MEAN_RGB = (104.0, 117.0, 123.0)  # subtracted from R, G, B in that order (A.5)
VARIANCES = (0.1, 0.2)
PRE_THRESHOLD = 0.05
NMS_THRESHOLD = 0.3
FINAL_THRESHOLD = 0.5
NUM_KEYS = 65

_BACKBONE = [  # (name, cin, cout, kernel, stride, padding); "pool" = 2x2 max pool
    ("conv1_1", 3, 64, 3, 1, 1), ("conv1_2", 64, 64, 3, 1, 1), "pool",
    ("conv2_1", 64, 128, 3, 1, 1), ("conv2_2", 128, 128, 3, 1, 1), "pool",
    ("conv3_1", 128, 256, 3, 1, 1), ("conv3_2", 256, 256, 3, 1, 1), ("conv3_3", 256, 256, 3, 1, 1), "pool",
    ("conv4_1", 256, 512, 3, 1, 1), ("conv4_2", 512, 512, 3, 1, 1), ("conv4_3", 512, 512, 3, 1, 1), "pool",
    ("conv5_1", 512, 512, 3, 1, 1), ("conv5_2", 512, 512, 3, 1, 1), ("conv5_3", 512, 512, 3, 1, 1), "pool",
    ("fc6", 512, 1024, 3, 1, 3), ("fc7", 1024, 1024, 1, 1, 0),
    ("conv6_1", 1024, 256, 1, 1, 0), ("conv6_2", 256, 512, 3, 2, 1),
    ("conv7_1", 512, 128, 1, 1, 0), ("conv7_2", 128, 256, 3, 2, 1),
]  # fmt: skip
# (source feature, channels, face-confidence channels) in output order (A.3)
_SOURCES = [
    ("conv3_3_norm", 256, 4), ("conv4_3_norm", 512, 2), ("conv5_3_norm", 512, 2),
    ("fc7", 1024, 2), ("conv6_2", 512, 2), ("conv7_2", 256, 2),
]  # fmt: skip
_NORMS = {"conv3_3": ("conv3_3_norm", 256, 10.0), "conv4_3": ("conv4_3_norm", 512, 8.0), "conv5_3": ("conv5_3_norm", 512, 5.0)}


class L2Norm(nn.Module):
    """Channel-wise L2 normalisation with a learned per-channel scale; eps added after the sqrt."""

    def __init__(self, channels: int, scale: float) -> None:
        super().__init__()
        self.eps = 1e-10
        self.weight = nn.Parameter(torch.full((channels,), float(scale)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        norm = x.pow(2).sum(dim=1, keepdim=True).sqrt() + self.eps
        return x / norm * self.weight.view(1, -1, 1, 1)


class S3FDNet(nn.Module):
    """The ``s3fd`` network; parameter names match the original state dict key for key."""

    def __init__(self) -> None:
        super().__init__()
        for layer in _BACKBONE:
            if layer != "pool":
                name, cin, cout, k, s, p = layer
                self.add_module(name, nn.Conv2d(cin, cout, k, s, p))
        for norm_name, channels, scale in _NORMS.values():
            self.add_module(norm_name, L2Norm(channels, scale))
        for source, channels, conf in _SOURCES:
            self.add_module(f"{source}_mbox_conf", nn.Conv2d(channels, conf, 3, 1, 1))
            self.add_module(f"{source}_mbox_loc", nn.Conv2d(channels, 4, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """(N, 3, H, W) mean-subtracted RGB -> [conf0, loc0, ..., conf5, loc5] (raw logits)."""
        features: dict[str, torch.Tensor] = {}
        for layer in _BACKBONE:
            if layer == "pool":
                x = F.max_pool2d(x, 2, 2)
                continue
            name = layer[0]
            x = F.relu(getattr(self, name)(x))
            if name in _NORMS:
                features[_NORMS[name][0]] = getattr(self, _NORMS[name][0])(x)
            elif name in ("fc7", "conv6_2", "conv7_2"):
                features[name] = x
        outputs = []
        for source, _, _ in _SOURCES:
            conf = getattr(self, f"{source}_mbox_conf")(features[source])
            if source == "conv3_3_norm":  # max-out background (A.3)
                c0, c1, c2, c3 = conf.chunk(4, dim=1)
                conf = torch.cat([torch.max(torch.max(c0, c1), c2), c3], dim=1)
            outputs += [conf, getattr(self, f"{source}_mbox_loc")(features[source])]
        return outputs


def prepare(frames: np.ndarray) -> torch.Tensor:
    """(N, H, W, 3) uint8 RGB -> (N, 3, H, W) float32 minus (104, 117, 123), exact from the integers."""
    x = torch.from_numpy(np.ascontiguousarray(frames)).to(torch.float32)
    return (x - torch.tensor(MEAN_RGB)).permute(0, 3, 1, 2).contiguous()


def prior_boxes(source: int, rows: int, cols: int) -> np.ndarray:
    """(rows, cols, 4) priors c_x, c_y, side, side of source ``source`` (A.6): stride 2^(i+2),
    side 4·stride, centre stride/2 + index·stride, not clipped (fc6's padding shift kept)."""
    stride = 2 ** (source + 2)
    cx = stride / 2 + np.arange(cols, dtype=np.float32) * stride
    cy = stride / 2 + np.arange(rows, dtype=np.float32) * stride
    grid_y, grid_x = np.meshgrid(cy, cx, indexing="ij")
    side = np.full_like(grid_x, 4.0 * stride)
    return np.stack([grid_x, grid_y, side, side], axis=-1)


def decode(loc: torch.Tensor, priors: torch.Tensor) -> torch.Tensor:
    """Offsets (M, 4) t_x, t_y, t_w, t_h against priors (M, 4) c_x, c_y, w, h -> (M, 4) corners."""
    v1, v2 = VARIANCES
    centre = priors[:, :2] + loc[:, :2] * v1 * priors[:, 2:]
    size = priors[:, 2:] * torch.exp(loc[:, 2:] * v2)
    top_left = centre - size / 2
    return torch.cat([top_left, top_left + size], dim=1)


def candidates(outputs: list[torch.Tensor], image: int) -> np.ndarray:
    """(M, 5) decoded x1, y1, x2, y2, p of one image's cells with p > 0.05; a zero row if none."""
    rows = []
    for source in range(len(outputs) // 2):
        prob = torch.softmax(outputs[2 * source][image].float(), dim=0)[1]
        loc = outputs[2 * source + 1][image].float()
        hit_r, hit_c = torch.nonzero(prob > PRE_THRESHOLD, as_tuple=True)
        if len(hit_r) == 0:
            continue
        priors = torch.from_numpy(prior_boxes(source, *prob.shape))[hit_r.cpu(), hit_c.cpu()].to(loc.device)
        boxes = decode(loc[:, hit_r, hit_c].T, priors)
        rows.append(torch.cat([boxes, prob[hit_r, hit_c, None]], dim=1))
    if not rows:
        return np.zeros((1, 5), np.float32)
    return torch.cat(rows).cpu().numpy()


def nms(dets: np.ndarray, threshold: float = NMS_THRESHOLD) -> list[int]:
    """Greedy NMS by descending score with inclusive-pixel IoU; suppresses IoU > ``threshold``."""
    if len(dets) == 0:
        return []
    x1, y1, x2, y2, scores = (dets[:, i] for i in range(5))
    area = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size > 0:
        i, rest = order[0], order[1:]
        keep.append(int(i))
        w = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]) + 1)
        h = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]) + 1)
        inter = w * h
        overlap = inter / (area[i] + area[rest] - inter)
        order = rest[overlap <= threshold]
    return keep


def postprocess(
    outputs: list[torch.Tensor], threshold: float = FINAL_THRESHOLD, nms_threshold: float = NMS_THRESHOLD
) -> list[Detections]:
    """Per image: candidates, NMS (0.3), keep p > ``threshold`` (0.5), highest score first."""
    found = []
    for image in range(outputs[0].shape[0]):
        dets = candidates(outputs, image)
        dets = dets[nms(dets, nms_threshold)]
        dets = dets[dets[:, 4] > threshold]
        found.append(Detections(dets[:, :4], dets[:, 4]))
    return found


def load_s3fd(path: str | Path, device: str | torch.device = "cpu") -> S3FDNet:
    """Build S3FD and load the original ``s3fd.pth`` (strict, weights_only)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"S3FD weights not found: {path}")
    state = safe_torch_load(path)
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path}: expected a plain state dict of tensors (the original s3fd.pth)")
    net = S3FDNet()
    expected = net.state_dict()
    missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"{path}: not an S3FD state dict ({len(state)} keys, expected {NUM_KEYS}; "
            f"missing {missing[:3]}, unexpected {unexpected[:3]})"
        )
    bad = [k for k, v in state.items() if v.shape != expected[k].shape]
    if bad:
        raise CheckpointError(f"{path}: wrong shape for {bad[0]}: {tuple(state[bad[0]].shape)}")
    net.load_state_dict(state, strict=True)
    return net.to(device).eval()


class S3FDDetector(Detector):
    """S3FD on (optionally downscaled) frames; its boxes define nothing new: they are returned raw.

    ``max_side=None`` reproduces the original's full-resolution detection (slow: ~580 GFLOP per
    720p frame); frames in one call must share a size (they are batched). ``min_score`` and
    ``nms_threshold`` default to Wav2Lip's 0.5 and 0.3 (syncnet_python's scorer used 0.9 and 0.1).
    """

    name = "s3fd"

    def __init__(
        self,
        weights: str | Path | S3FDNet,
        *,
        device: str = "cpu",
        batch_size: int = 4,
        min_score: float = FINAL_THRESHOLD,
        nms_threshold: float = NMS_THRESHOLD,
        max_side: int | None = 640,
    ) -> None:
        super().__init__(max_side=max_side)
        if isinstance(weights, S3FDNet):
            self.net, self.weights_id = weights.to(device).eval(), "in-memory"
        else:
            self.net, self.weights_id = load_s3fd(weights, device), content_digest(weights)
        self.device = torch.device(device)
        self.batch_size = batch_size
        self.min_score = min_score
        self.nms_threshold = nms_threshold

    @torch.inference_mode()
    def _detect(self, frames: list[np.ndarray]) -> list[Detections]:
        if min(min(f.shape[:2]) for f in frames) < 32:
            raise ValueError("S3FD needs frames of at least 32x32 pixels")
        found: list[Detections] = []
        for start in range(0, len(frames), self.batch_size):
            batch = prepare(np.stack(frames[start : start + self.batch_size])).to(self.device)
            found += postprocess(self.net(batch), self.min_score, self.nms_threshold)
        return found

    def settings(self) -> dict[str, Any]:
        return {
            **super().settings(),
            "weights": self.weights_id,
            "min_score": self.min_score,
            "nms_threshold": self.nms_threshold,
        }
