"""Torch Datasets for the lip-sync expert and the generator, in the project's tensor layouts.

Both wrap one ``WindowSampler``; item ``i`` of epoch ``e`` is ``sample(e, i)``, a pure function of
(seed, e, i), so a resumed run sees exactly the same samples. Call ``set_epoch(e)`` before each
epoch (as with ``DistributedSampler``); with ``persistent_workers=True`` the workers keep the
epoch they were started with, so do not combine the two.

Generator item (dict): faces (6, T, S, S) = [target window with rows S/2.. zeroed, reference
window]; indiv_mels (T, 1, 80, 16); mel (1, 80, 16); gt (3, T, S, S).
Expert item (dict): faces (3T, S/2, S) = lower halves, frame-major (frame 0 RGB, frame 1 RGB, ...);
mel (1, 80, 16); label (1,) float, 1 = in sync.
All images are RGB float32 in [0, 1].
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from ..errors import ConfigError
from .augment import AugmentConfig, augment
from .sampling import ClipSource, WindowConfig, WindowSampler, sample_rng


@dataclasses.dataclass(frozen=True)
class SamplingConfig:
    """Sampling for training. ``samples_per_epoch`` None = one per eligible clip (the original's epoch)."""

    window: WindowConfig = WindowConfig()
    size: int = 96
    augment: AugmentConfig = AugmentConfig()
    samples_per_epoch: int | None = None

    def __post_init__(self) -> None:
        if self.size < 1 or (self.samples_per_epoch is not None and self.samples_per_epoch < 1):
            raise ConfigError(f"size and samples_per_epoch must be >= 1 (samples_per_epoch None: one per clip), got "
                             f"{self.size}, {self.samples_per_epoch}")


class _WindowDataset(torch.utils.data.Dataset):
    def __init__(self, source: ClipSource, config: SamplingConfig = SamplingConfig(), *, seed: int = 0) -> None:
        self.sampler = WindowSampler(source, config.window, seed)
        self.config = config
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.config.samples_per_epoch or len(self.sampler.eligible)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return self.sample(self.epoch, index)

    def sample(self, epoch: int, index: int) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def _images(self, windows: list[np.ndarray], epoch: int, index: int) -> list[np.ndarray]:
        """uint8 (T, S', S', 3) windows -> float32 (T, size, size, 3) in [0, 1], augmented if enabled."""
        out = [_resize(w, self.config.size).astype(np.float32) / 255.0 for w in windows]
        # augmentation draws from its own stream so enabling it never changes which windows are drawn
        rng = sample_rng(self.sampler.seed + 1, epoch, index)
        return augment(out, rng, self.config.augment)


class GeneratorDataset(_WindowDataset):
    """Generator samples: masked target + reference window, per-frame mels with the model's offset."""

    def sample(self, epoch: int, index: int) -> dict[str, torch.Tensor]:
        draw = self.sampler.generator(epoch, index)
        target, reference = self._images([draw.target, draw.reference], epoch, index)
        gt = target.transpose(3, 0, 1, 2)  # (3, T, S, S)
        masked = gt.copy()
        masked[:, :, gt.shape[2] // 2 :] = 0.0
        faces = np.concatenate([masked, reference.transpose(3, 0, 1, 2)], axis=0)
        return {
            "faces": torch.from_numpy(np.ascontiguousarray(faces)),
            "indiv_mels": torch.from_numpy(draw.indiv_mels[:, None]),
            "mel": torch.from_numpy(draw.mel[None]),
            "gt": torch.from_numpy(np.ascontiguousarray(gt)),
        }


class ExpertDataset(_WindowDataset):
    """Expert samples: lower halves of a window and the mel at the anchor; label 1 in sync, 0 shifted."""

    def sample(self, epoch: int, index: int) -> dict[str, torch.Tensor]:
        draw = self.sampler.expert(epoch, index)
        (frames,) = self._images([draw.frames], epoch, index)
        t, size = frames.shape[:2]
        lower = frames[:, size // 2 :].transpose(0, 3, 1, 2).reshape(3 * t, size - size // 2, size)
        return {
            "faces": torch.from_numpy(np.ascontiguousarray(lower)),
            "mel": torch.from_numpy(draw.mel[None]),
            "label": torch.tensor([float(draw.label)]),
        }


def _resize(window: np.ndarray, size: int) -> np.ndarray:
    """Bilinear resize of every frame to size x size (cv2's default, as the original); no-op when equal."""
    if window.shape[1] == size and window.shape[2] == size:
        return window
    import cv2

    return np.stack([cv2.resize(frame, (size, size)) for frame in window])
