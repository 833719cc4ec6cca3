"""The visual-quality adversary: owns its discriminator, its optimiser and their state.

The generator's loop only calls :meth:`Adversary.generator_loss` (inside its own loss) and
:meth:`Adversary.train_step` (after its own optimiser step); it never touches the
discriminator's internals.

GAN form. The paper's eq. 3 writes the generator's term as the saturating E[log(1 - D(G(x)))].
Like the original code (``perceptual_forward``), this uses the non-saturating form
``BCE(D(G(x)), 1) = -E[log D(G(x))]``, whose gradient does not vanish while D easily rejects
early fakes. The discriminator minimises ``BCE(D(real), 1) + BCE(D(fake), 0)``, i.e. maximises
eq. 3's ``log D(real) + log(1 - D(G(x)))``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .config import GanConfig
from .losses import adversarial_bce
from .runtime import Runtime, frozen, no_sync


class Adversary:
    """A quality discriminator trained against the generator, with Adam(lr, betas) of its own."""

    def __init__(self, discriminator: nn.Module, config: GanConfig, runtime: Runtime) -> None:
        self.network = runtime.prepare(discriminator)
        self.runtime = runtime
        self.optimizer = torch.optim.Adam(self.network.parameters(), lr=config.lr, betas=config.betas)

    def generator_loss(self, fake: torch.Tensor) -> torch.Tensor:
        """The generator's non-saturating loss BCE(D(fake), 1); gradients reach ``fake`` only."""
        with frozen(self.network) as discriminator, self.runtime.autocast():
            prob = discriminator(fake)
        return adversarial_bce(prob, target_real=True)

    def train_step(self, fake: torch.Tensor, real: torch.Tensor, micro_batches: int = 1) -> dict[str, float]:
        """One optimiser step of D on detached fakes and real frames; returns its mean losses.

        With ``micro_batches`` > 1 the batch is processed in that many chunks whose gradients are
        accumulated (each chunk's loss scaled by 1/k), matching a step over the whole batch.
        Real and fake frames share one forward pass (D has no BatchNorm and judges each frame on
        its own, so this is the same function as the original's two passes).
        """
        self.network.train()
        self.optimizer.zero_grad(set_to_none=True)
        fakes, reals = _as_frames(fake.detach()).chunk(micro_batches), _as_frames(real).chunk(micro_batches)
        totals = {"d_real": 0.0, "d_fake": 0.0}
        for i, (f, r) in enumerate(zip(fakes, reals)):
            with no_sync(self.network, last=i == len(fakes) - 1):
                with self.runtime.autocast():
                    prob = self.network(torch.cat([r, f]))
                real_prob, fake_prob = prob[: len(prob) // 2], prob[len(prob) // 2 :]
                loss_real = adversarial_bce(real_prob, target_real=True)
                loss_fake = adversarial_bce(fake_prob, target_real=False)
                ((loss_real + loss_fake) / len(fakes)).backward()
            totals["d_real"] += loss_real.item() / len(fakes)
            totals["d_fake"] += loss_fake.item() / len(fakes)
        self.optimizer.step()
        return totals

    def state_dict(self) -> dict[str, Any]:
        """The optimiser's state (the weights are saved as a model checkpoint of their own)."""
        return {"optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])


def _as_frames(windows: torch.Tensor) -> torch.Tensor:
    """(B, 3, T, H, W) windows -> (B*T, 3, H, W) frames, window-major, so halves stay apart."""
    b, c, t, h, w = windows.shape
    return windows.transpose(1, 2).reshape(b * t, c, h, w)
