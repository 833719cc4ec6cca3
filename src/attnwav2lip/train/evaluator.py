"""Train a SynthTalk evaluator: a narrow ``SyncNetEvaluator`` learned with SyncNet's contrastive loss.

syncnet_v2 cannot be downloaded everywhere, and it has never seen SynthTalk's rendered faces. This
trains the same architecture (narrower by default) on the corpus's reserved ``evaluator`` split
(identities and sentences no generator trains on), on exactly the input the LRS protocol scores:
224x224 frames at 25 fps, raw 0-255, and the original MFCC windows. The frames are syncnet_python's
face crops around the rendered face box (``pairs.crop: face``, the default; SynthTalk frames show a
head on a busy background, unlike LRS2's face-centred frames), or whole frames (``crop: frame``).

Two objectives, both contrasting in-sync with shifted audio on the Euclidean distance d of the
two embeddings:

- "pairwise" (Chung & Zisserman, "Out of time"): a 5-frame video window with the MFCC window at the
  same start (label 1) or shifted by ``min_shift``..``max_shift`` frames (label 0); loss
  ``mean(y d^2 + (1 - y) max(margin - d, 0)^2) / 2``. From scratch on SynthTalk it sat at its
  collapse value (every d near margin / 2) for 1,000-1,600 steps (docs/evaluation.md).
- "multiway" (Chung et al., "Perfect match", 2019; the default): one video window against the audio
  windows at every offset in -``multiway_shift``..``multiway_shift`` (beyond the clip, the embedding
  of an all-zero MFCC window; LSE puts a zero *embedding* there instead: ``_mfcc_window``);
  cross-entropy of softmax(-d) over the offsets with the in-sync one as the class. It trains the
  very decision LSE makes (the offset of minimum distance) and every sample carries
  2 multiway_shift negatives (the audio stream then costs most of a step: 6 keeps it cheap).

Every ``val_every``-th clip of the split is held out for validation.

Numbers from the result are "LSE (SynthTalk evaluator)": never compare them with syncnet_v2's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Sequence

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from ..audio import load_audio
from ..config import check_choices
from ..errors import ConfigError
from ..metrics.evaluate import SYNTHTALK_EVALUATOR
from ..metrics.lse import MFCC_PER_FRAME, WINDOW_FRAMES, WINDOW_MFCC, count_windows, mfcc_matrix, to_pcm16
from ..metrics.scoring import read_scoring_frames
from ..metrics.synthtalk_scores import synthtalk_crops
from ..models import EvaluatorConfig, SyncNetEvaluator
from ..synth.corpus import read_corpus_manifest
from ..synth.truth import corpus_scene, static_face_boxes
from .api import run_task
from .config import DataConfig, OptimConfig, RuntimeConfig, ScheduleConfig
from .runtime import Runtime, no_sync, set_training, unwrap
from .trainer import SingleOptimizerTask

Batch = dict[str, torch.Tensor]
Crop = Literal["face", "frame"]
Objective = Literal["multiway", "pairwise"]


@dataclass(frozen=True)
class PairConfig:
    """Which clips, and how in-sync and shifted pairs are drawn."""

    split: str = "evaluator"
    objective: Objective = "multiway"  # or "pairwise" (module docstring)
    crop: Crop = "face"  # "face": syncnet's crop around the rendered face box; "frame": the whole frame
    val_every: int = 5  # clip k of the split is a validation clip when k % val_every == 0
    samples_per_epoch: int = 4000
    min_shift: int = 3  # frames; pairwise negatives only (a shift under ~2 frames is nearly in sync)
    max_shift: int = 15  # the offsets LSE searches
    multiway_shift: int = 6  # multiway candidates: offsets -6..6

    def __post_init__(self) -> None:
        if not 1 <= self.min_shift <= self.max_shift or self.val_every < 2 or self.samples_per_epoch < 1 \
                or self.multiway_shift < 1:
            raise ConfigError("pairs: need 1 <= min_shift <= max_shift, val_every >= 2, samples_per_epoch >= 1, "
                              "multiway_shift >= 1")
        check_choices(self, "pairs.")


@dataclass(frozen=True)
class EvaluatorTrainConfig:
    """A ``train-evaluator`` run. ``data.root`` is the SynthTalk corpus folder (``data.sampling``,
    ``layout`` and the split names are not used: clips come from ``pairs.split``)."""

    data: DataConfig = DataConfig(batch_size=32, num_workers=0)
    pairs: PairConfig = PairConfig()
    model: EvaluatorConfig = EvaluatorConfig(width=0.25)
    optim: OptimConfig = OptimConfig()
    margin: float = 10.0  # the pairwise objective only
    schedule: ScheduleConfig = ScheduleConfig(max_steps=20_000, eval_every=1000, checkpoint_every=1000, val_batches=20)
    runtime: RuntimeConfig = RuntimeConfig()

    def __post_init__(self) -> None:
        if not self.margin > 0:
            raise ConfigError(f"margin must be > 0, got {self.margin}")


@dataclass(frozen=True)
class ScoringClip:
    """One clip as the scorer sees it: 224x224 frames at 25 fps and its MFCC matrix."""

    frames: np.ndarray  # (N, 224, 224, 3) uint8
    mfcc: np.ndarray  # (13, T) float32
    num_windows: int


def load_clips(root: str | os.PathLike[str], split: str, crop: str = "face") -> list[ScoringClip]:
    """The clips of ``split`` in a SynthTalk corpus, as the SynthTalk protocol scores them (``crop``)."""
    clips = []
    for record in read_corpus_manifest(root):
        if record["split"] != split:
            continue
        frames = read_scoring_frames(Path(root) / record["video"])
        if crop == "face":
            frames = crop_rendered_faces(root, record, frames)
        pcm = to_pcm16(load_audio(Path(root) / record["audio"]))
        clips.append(ScoringClip(frames, mfcc_matrix(pcm), count_windows(len(frames), len(pcm))))
    if len(clips) < 2:
        raise ConfigError(f"{root}: the {split!r} split has {len(clips)} clip(s); training needs at least 2")
    return clips


def crop_rendered_faces(root: str | os.PathLike[str], record: dict, frames: np.ndarray) -> np.ndarray:
    """The SynthTalk evaluator's input for a corpus clip's 25 fps frames (see ``synthtalk_scores.synthtalk_crops``)."""
    boxes = static_face_boxes(*corpus_scene(root, record))
    if len(boxes) != len(frames):
        raise ConfigError(f"{record['video']}: {len(frames)} frames at 25 fps but {len(boxes)} rendered boxes")
    return synthtalk_crops(frames, boxes)


class SyncPairs(Dataset):
    """In-sync and shifted (video window, MFCC window) pairs, drawn per (seed, epoch, index)."""

    def __init__(self, clips: Sequence[ScoringClip], config: PairConfig, seed: int, length: int) -> None:
        self.clips, self.config, self.seed, self.length = list(clips), config, seed, length
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> Batch:
        rng = np.random.default_rng([self.seed, self.epoch, index])
        clip = self.clips[int(rng.integers(len(self.clips)))]
        start = int(rng.integers(clip.num_windows))
        video = clip.frames[start : start + WINDOW_FRAMES].transpose(3, 0, 1, 2)  # (3, 5, 224, 224)
        item = {"video": torch.from_numpy(np.ascontiguousarray(video))}
        if self.config.objective == "multiway":
            offsets = range(start - self.config.multiway_shift, start + self.config.multiway_shift + 1)
            item["mfcc"] = torch.from_numpy(np.stack([_mfcc_window(clip, k) for k in offsets]))
            item["label"] = torch.tensor(self.config.multiway_shift)
            return item
        shifts = [s * k for k in range(self.config.min_shift, self.config.max_shift + 1) for s in (-1, 1)]
        shifts = [k for k in shifts if 0 <= start + k < clip.num_windows]
        in_sync = not shifts or rng.random() < 0.5
        audio = start if in_sync else start + shifts[int(rng.integers(len(shifts)))]
        return {**item, "mfcc": torch.from_numpy(_mfcc_window(clip, audio)), "label": torch.tensor(float(in_sync))}


def _mfcc_window(clip: ScoringClip, start: int) -> np.ndarray:
    """(1, 13, 20) MFCC window of the video window at ``start``; an all-zero window outside the clip.

    The zeros are the network's *input*, so such a candidate is the audio stream's embedding of a zero
    MFCC window. LSE (``lse.offset_distances``) pads differently: a zero *embedding* beyond the clip.
    Kept as is: the shipped evaluator was trained with this padding.
    """
    if not 0 <= start < clip.num_windows:
        return np.zeros((1, clip.mfcc.shape[0], WINDOW_MFCC), np.float32)
    return np.ascontiguousarray(clip.mfcc[None, :, MFCC_PER_FRAME * start : MFCC_PER_FRAME * start + WINDOW_MFCC])


def contrastive_loss(video: torch.Tensor, audio: torch.Tensor, label: torch.Tensor, margin: float) -> torch.Tensor:
    """SyncNet's loss: pull in-sync embeddings together, push shifted ones beyond ``margin``."""
    d = nn.functional.pairwise_distance(video, audio)
    return (label * d.pow(2) + (1 - label) * (margin - d).clamp(min=0).pow(2)).mean() / 2


def offset_distances_of(video: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
    """(B, K) distances of video embeddings (B, D) to their K candidate audio embeddings (B, K, D)."""
    return (video.unsqueeze(1) - audio).pow(2).sum(-1).add(1e-12).sqrt()


def multiway_loss(distances: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
    """Perfect match's loss: cross-entropy of softmax(-d) over the (B, K) candidate distances, class ``label``."""
    return nn.functional.cross_entropy(-distances, label)


class _BothStreams(nn.Module):
    """One ``forward`` for both embeddings, so DistributedDataParallel sees every step."""

    def __init__(self, evaluator: nn.Module) -> None:
        super().__init__()
        self.evaluator = evaluator

    def forward(self, video: torch.Tensor, mfcc: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Embeddings of (B, 3, 5, H, W) video and (B, 1, 13, 20) or (B, K, 1, 13, 20) MFCC windows."""
        if mfcc.dim() == 4:
            return self.evaluator.forward_video(video), self.evaluator.forward_audio(mfcc)
        audio = self.evaluator.forward_audio(mfcc.flatten(0, 1))
        return self.evaluator.forward_video(video), audio.view(*mfcc.shape[:2], -1)


class EvaluatorTask(SingleOptimizerTask):
    """The ``Task`` (train/trainer.py) for the evaluator: Adam on the multiway or pairwise loss."""

    def __init__(self, evaluator: nn.Module, optim: OptimConfig, margin: float, runtime: Runtime,
                 objective: Objective = "multiway") -> None:
        self.runtime, self.margin, self.objective = runtime, margin, objective
        self.pair_net = runtime.prepare(_BothStreams(evaluator))
        self.optimizer = torch.optim.Adam(self.pair_net.parameters(), lr=optim.lr, betas=optim.betas)

    def networks(self) -> dict[str, nn.Module]:
        return {"evaluator": unwrap(self.pair_net).evaluator}

    def set_training(self, mode: bool, freeze_bn: bool = False) -> None:
        set_training(self.pair_net, mode, freeze_bn=freeze_bn)

    def _loss(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """The objective's loss, and per sample whether the evaluator got it right.

        Right means: the in-sync offset has the smallest distance (multiway), or the distance is
        under margin / 2 exactly when the pair is in sync (pairwise).
        """
        with self.runtime.autocast():
            video, audio = self.pair_net(batch["video"].float(), batch["mfcc"])
        video, audio, label = video.float(), audio.float(), batch["label"]
        if self.objective == "multiway":
            distances = offset_distances_of(video, audio)
            return multiway_loss(distances, label), distances.argmin(1) == label
        d = nn.functional.pairwise_distance(video, audio)
        return contrastive_loss(video, audio, label, self.margin), (d < self.margin / 2).float() == label

    def train_step(self, micro_batches: Sequence[Batch], step: int) -> dict[str, float]:
        self.optimizer.zero_grad(set_to_none=True)
        total = 0.0
        for i, batch in enumerate(micro_batches):
            with no_sync(self.pair_net, last=i == len(micro_batches) - 1):
                loss, _ = self._loss(batch)
                (loss / len(micro_batches)).backward()
            total += loss.item() / len(micro_batches)
        self.optimizer.step()
        return {"loss": total}

    def validation_step(self, batch: Batch) -> dict[str, float]:
        loss, right = self._loss(batch)
        return {"loss": loss.item(), "accuracy": right.float().mean().item()}


def train_evaluator(
    config: EvaluatorTrainConfig, run_dir: str | os.PathLike[str] | None, *, resume: str | os.PathLike[str] | None = None
) -> dict[str, float]:
    """Train on the corpus at ``config.data.root``; weights land in ``<run>/checkpoints/step_*/evaluator.safetensors``.

    Returns the last validation's loss and accuracy (EvaluatorTask._loss says what counts as right).
    """
    if not config.data.root:
        raise ConfigError("data.root is empty: give the SynthTalk corpus folder (--data)")
    clips = load_clips(config.data.root, config.pairs.split, config.pairs.crop)
    train = [c for k, c in enumerate(clips) if k % config.pairs.val_every]
    val = [c for k, c in enumerate(clips) if not k % config.pairs.val_every]
    seed = config.runtime.seed
    datasets = (
        SyncPairs(train, config.pairs, seed, config.pairs.samples_per_epoch),
        SyncPairs(val, config.pairs, seed + 1, config.data.batch_size * config.schedule.val_batches),
    )

    def build(runtime: Runtime) -> EvaluatorTask:
        evaluator = SyncNetEvaluator(config.model)
        evaluator.provenance = SYNTHTALK_EVALUATOR  # saved with every checkpoint's weights: what its scores are labelled
        return EvaluatorTask(evaluator, config.optim, config.margin, runtime, config.pairs.objective)

    return run_task("train-evaluator", config, run_dir, build, "evaluator", resume, datasets)  # type: ignore[arg-type]

