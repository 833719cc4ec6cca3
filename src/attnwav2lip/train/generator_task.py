"""Training the generator: L = (1 - a - b) L1 + a L_sync + b L_gen, with a discriminator step.

``a`` follows :class:`SyncWeight` (0 until the 0.75 rule fires, or fixed); ``b`` is the GAN
weight, 0 without an adversary (then L = (1 - a) L1 + a L_sync, the plain script's loss) and,
with ``gan.start: with_sync``, 0 until ``a`` switches on. As in the original, the sync term is not
even computed while a = 0, and the discriminator trains at every step where b > 0, its step
following the generator's on the same generated frames.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import torch
from torch import nn

from ..video import write_png
from .adversarial import Adversary
from .config import TrainConfig
from .losses import l1, lower_half
from .runtime import Runtime, no_sync, set_training, unwrap
from .samples import sample_grid
from .expert_loss import FrozenExpert, SyncWeight
from .trainer import Batch


class GeneratorTask:
    """The generator with its frozen expert and (optionally) its adversary."""

    draws_samples = True

    def __init__(self, generator: nn.Module, expert: nn.Module, adversary: Adversary | None,
                 config: TrainConfig, runtime: Runtime) -> None:
        config.check_expert_batches(runtime.world_size)
        self.runtime = runtime
        self.generator = runtime.prepare(generator)
        self.expert = runtime.place(FrozenExpert(expert, config.sync.expert_bn))
        self.adversary = adversary
        self.gan = config.gan
        self.sync_weight = SyncWeight(config.sync)
        self.optimizer = torch.optim.Adam(self.generator.parameters(), lr=config.optim.lr, betas=config.optim.betas)

    def beta(self, step: int) -> float:
        """The GAN weight at ``step``: 0 without an adversary, or before alpha is on under ``gan.start: with_sync``."""
        if self.adversary is None or (self.gan.start == "with_sync" and not self.sync_weight.active(step)):
            return 0.0
        return self.gan.weight

    def networks(self) -> dict[str, nn.Module]:
        """Saved in every checkpoint, the frozen expert included: the generator's pair survives the
        expert run pruning its checkpoints, and resuming reloads the same (unchanged) weights."""
        networks = {"generator": unwrap(self.generator), "expert": self.expert.expert}
        if self.adversary is not None:
            networks["discriminator"] = unwrap(self.adversary.network)
        return networks

    def optimizers(self) -> list[torch.optim.Optimizer]:
        return [self.optimizer] + ([self.adversary.optimizer] if self.adversary is not None else [])

    def optimizer_starts(self) -> list[int | None]:
        """The generator trains from step 0; the discriminator from its first step with beta > 0."""
        if self.adversary is None:
            return [0]
        return [0, 0 if self.gan.start == "first_step" else self.sync_weight.switched_at]

    def set_training(self, mode: bool, freeze_bn: bool = False) -> None:
        set_training(self.generator, mode, freeze_bn=freeze_bn)

    def train_step(self, micro_batches: Sequence[Batch], step: int) -> dict[str, float]:
        alpha, beta, n = self.sync_weight.value(step), self.beta(step), len(micro_batches)
        if self.sync_weight.config.restart_optimizer and step == self.sync_weight.switched_at:
            self.optimizer.state.clear()  # Adam re-initialises its moments (and bias correction) lazily
        self.optimizer.zero_grad(set_to_none=True)
        totals: dict[str, float] = {}
        fakes = []
        for i, batch in enumerate(micro_batches):
            with no_sync(self.generator, last=i == n - 1):
                with self.runtime.autocast():
                    generated = self.generator(batch["indiv_mels"], batch["faces"])
                    terms = {"l1": l1(generated, batch["gt"])}
                    if alpha > 0:
                        terms["sync"] = self.expert(generated, batch["mel"])
                    if beta > 0:
                        terms["gen"] = self.adversary.generator_loss(generated)
                loss = (1 - alpha - beta) * terms["l1"] + alpha * terms.get("sync", 0.0) + beta * terms.get("gen", 0.0)
                (loss / n).backward()
            for key, value in {**terms, "loss": loss}.items():
                totals[key] = totals.get(key, 0.0) + value.item() / n
            fakes.append(generated.detach())
        self.optimizer.step()
        if beta > 0:
            real = torch.cat([b["gt"] for b in micro_batches])
            totals |= self.adversary.train_step(torch.cat(fakes), real, micro_batches=n)
        return {**totals, "alpha": alpha, "beta": beta}

    def validation_step(self, batch: Batch) -> dict[str, float]:
        """L1, sync loss (always computed here: the 0.75 rule needs it) and the audio gain.

        ``audio_gain`` is an estimate of lip sync that owes nothing to the training expert: how
        much the lower-half L1 rises when each window is driven by another window's audio (the
        batch's mels rolled by one). 0 means the generator ignores its audio; a lip-syncing
        generator loses accuracy with the wrong audio. Needs a batch of at least 2 windows.
        """
        mels, gt = batch["indiv_mels"], batch["gt"]
        with self.runtime.autocast():
            generated = self.generator(mels, batch["faces"])
            metrics = {"l1": l1(generated, gt).item(), "sync": self.expert(generated, batch["mel"]).item()}
            if len(mels) > 1:
                miscued = self.generator(mels.roll(1, dims=0), batch["faces"])
                lower_gt = lower_half(gt)
                metrics["audio_gain"] = (l1(lower_half(miscued), lower_gt) - l1(lower_half(generated), lower_gt)).item()
        return metrics

    def after_validation(self, metrics: dict[str, float], step: int) -> dict[str, float]:
        """Apply the 0.75 rule to the validation's mean sync loss; record alpha for the next step."""
        self.sync_weight.observe(metrics["sync"], step)
        return {"alpha": self.sync_weight.value(step)}

    def write_samples(self, batch: Batch, path: Path) -> None:
        """Only the main process draws, so the bare network runs (DDP's forward would wait for the others)."""
        with self.runtime.autocast():
            generated = unwrap(self.generator)(batch["indiv_mels"], batch["faces"])
        write_png(path, sample_grid(batch["faces"], generated, batch["gt"]))

    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {"optimizer": self.optimizer.state_dict(), "sync_weight": self.sync_weight.state_dict()}
        if self.adversary is not None:
            state["adversary"] = self.adversary.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.sync_weight.load_state_dict(state["sync_weight"])
        if self.adversary is not None:
            self.adversary.load_state_dict(state["adversary"])

