"""Everything a clip shows except the mouth: head pose, blinks, lighting, background and camera.

A `Motion` is clip A's track; pairing it with the mouth track of audio B gives the true video of
"A saying B". When B is longer than A, A is looped exactly as `sync` loops a shorter video
(`attnwav2lip.looping.loop_schedule`: forward then backward by default).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

POSE_FIELDS: tuple[str, ...] = ("tx", "ty", "scale", "roll", "yaw", "pitch")
BACKGROUNDS: tuple[str, ...] = ("gradient", "blobs", "stripes", "room")


@dataclass(frozen=True)
class PoseRange:
    """Limits of the head pose. Translation is a fraction of the frame's shorter side; angles in degrees."""

    tx: float = 0.09
    ty: float = 0.06
    scale: tuple[float, float] = (0.72, 1.12)
    roll: float = 15.0
    yaw: float = 22.0
    pitch: float = 12.0
    #: fraction of each range that the slow drift within one clip may cover
    drift: float = 0.25


@dataclass(frozen=True)
class Motion:
    """Per-frame head pose (T, 6: `POSE_FIELDS`), eyelid closure (T,), light gain (T, 3), plus the scene.

    `light` is the key light direction in the image plane (x right, y down), `noise` the camera
    noise sigma in 0..255 units, `jpeg` the per-frame JPEG quality (0: none), `background` one of
    `BACKGROUNDS` drawn from `scene_seed`.
    """

    fps: float
    pose: np.ndarray
    blink: np.ndarray
    gain: np.ndarray
    light: tuple[float, float] = (0.3, -0.5)
    background: str = "gradient"
    scene_seed: int = 0
    noise: float = 2.0
    jpeg: int = 0

    def __len__(self) -> int:
        return len(self.pose)

    def take(self, indices: np.ndarray) -> "Motion":
        """The same scene with frames re-ordered / repeated by `indices`."""
        idx = np.asarray(indices, dtype=np.int64)
        return Motion(self.fps, self.pose[idx], self.blink[idx], self.gain[idx], self.light, self.background,
                      self.scene_seed, self.noise, self.jpeg)

    def arrays(self) -> dict[str, np.ndarray]:
        """Per-frame arrays for ground-truth sidecars."""
        return {"pose": self.pose, "blink": self.blink, "gain": self.gain}

    def scene(self) -> dict[str, object]:
        """Clip-level settings for ground-truth sidecars (JSON-ready)."""
        return {"fps": self.fps, "light": list(self.light), "background": self.background,
                "scene_seed": self.scene_seed, "noise": self.noise, "jpeg": self.jpeg}


def _drift(rng: np.random.Generator, n: int, fps: float, n_waves: int = 3) -> np.ndarray:
    """A slow, smooth signal in [-1, 1]: a sum of low-frequency sinusoids (0.05-0.4 Hz)."""
    t = np.arange(n) / fps
    freqs = rng.uniform(0.05, 0.4, n_waves)
    phases = rng.uniform(0, 2 * np.pi, n_waves)
    amps = rng.uniform(0.3, 1.0, n_waves)
    wave = (amps[:, None] * np.sin(2 * np.pi * freqs[:, None] * t[None, :] + phases[:, None])).sum(0)
    return wave / amps.sum()


def blinks(rng: np.random.Generator, n: int, fps: float, mean_interval: float = 3.5) -> np.ndarray:
    """Eyelid closure per frame: blinks at random times (close 70 ms, hold 30 ms, open 110 ms)."""
    t = np.arange(n) / fps
    closure = np.zeros(n)
    at = rng.uniform(0.3, mean_interval)
    while at < n / fps:
        rel = t - at
        shape = np.where(rel < 0, 0.0, np.where(rel < 0.07, rel / 0.07, np.where(rel < 0.1, 1.0,
                         np.clip(1 - (rel - 0.1) / 0.11, 0, 1))))
        closure = np.maximum(closure, shape)
        at += rng.exponential(mean_interval - 0.5) + 0.5
    return closure.astype(np.float32)


def sample_motion(seed: int, n_frames: int, fps: float = 25.0, pose_range: PoseRange = PoseRange()) -> Motion:
    """A random clip track: a base pose anywhere in `pose_range`, slow drift, blinks, light, scene."""
    rng = np.random.default_rng([seed, 0x30])
    r = pose_range
    lo = np.array([-r.tx, -r.ty, r.scale[0], -r.roll, -r.yaw, -r.pitch])
    hi = np.array([r.tx, r.ty, r.scale[1], r.roll, r.yaw, r.pitch])
    half = (hi - lo) / 2
    base = rng.uniform(lo + half * r.drift, hi - half * r.drift)
    pose = base[None, :] + np.stack([_drift(rng, n_frames, fps) for _ in POSE_FIELDS], 1) * half * r.drift
    pose = np.clip(pose, lo, hi)
    level = rng.uniform(0.8, 1.15)
    tint = 1 + rng.normal(0, 0.04, 3)
    gain = level * tint[None, :] * (1 + 0.04 * _drift(rng, n_frames, fps)[:, None])
    angle = rng.uniform(0, 2 * np.pi)
    strength = rng.uniform(0.1, 0.75)
    return Motion(
        fps=float(fps),
        pose=pose.astype(np.float32),
        blink=blinks(rng, n_frames, fps),
        gain=gain.astype(np.float32),
        light=(float(strength * np.cos(angle)), float(strength * np.sin(angle))),
        background=BACKGROUNDS[rng.integers(len(BACKGROUNDS))],
        scene_seed=int(rng.integers(2**31)),
        noise=float(rng.uniform(0.5, 4.0)),
        jpeg=int(rng.choice([0, 0, 95, 85, 70, 55])),
    )
