"""Training the lip-sync expert (SyncNet_color): BCE on the cosine of its two embeddings."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from .config import OptimConfig
from .losses import cosine_bce, sync_accuracy
from .runtime import Runtime, no_sync, set_training, unwrap
from .trainer import Batch, SingleOptimizerTask


class ExpertTask(SingleOptimizerTask):
    """Positives (label 1) and shifted negatives (label 0) as the sampler draws them; Adam on the expert."""

    def __init__(self, expert: nn.Module, optim: OptimConfig, runtime: Runtime) -> None:
        self.runtime = runtime
        self.expert = runtime.prepare(expert)
        self.optimizer = torch.optim.Adam(self.expert.parameters(), lr=optim.lr, betas=optim.betas)

    def networks(self) -> dict[str, nn.Module]:
        return {"expert": unwrap(self.expert)}

    def set_training(self, mode: bool, freeze_bn: bool = False) -> None:
        set_training(self.expert, mode, freeze_bn=freeze_bn)

    def train_step(self, micro_batches: Sequence[Batch], step: int) -> dict[str, float]:
        self.optimizer.zero_grad(set_to_none=True)
        total = 0.0
        for i, batch in enumerate(micro_batches):
            with no_sync(self.expert, last=i == len(micro_batches) - 1):
                with self.runtime.autocast():
                    audio_emb, face_emb = self.expert(batch["mel"], batch["faces"])
                loss = cosine_bce(audio_emb, face_emb, batch["label"])
                (loss / len(micro_batches)).backward()
            total += loss.item() / len(micro_batches)
        self.optimizer.step()
        return {"loss": total}

    def validation_step(self, batch: Batch) -> dict[str, float]:
        with self.runtime.autocast():
            audio_emb, face_emb = self.expert(batch["mel"], batch["faces"])
        return {"loss": cosine_bce(audio_emb, face_emb, batch["label"]).item(),
                "accuracy": sync_accuracy(audio_emb, face_emb, batch["label"]).item()}
