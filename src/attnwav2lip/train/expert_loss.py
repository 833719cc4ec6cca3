"""The generator's sync term: a frozen lip-sync expert, and the schedule of its weight alpha."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .config import SyncLossConfig
from .losses import cosine_bce, lower_half_frames


class FrozenExpert(nn.Module):
    """A trained lip-sync expert used as a fixed loss: L_sync = BCE(cos(a, v), 1).

    Its parameters never receive gradients and never enter an optimiser. ``bn_mode``:

    - "train" (the original): BatchNorm normalises every batch with that batch's own statistics.
      Unlike the original, the running statistics are left untouched (they are unused in this
      mode), so the expert's state is bit-for-bit the loaded one for the whole run.
    - "eval": BatchNorm uses the running statistics saved with the expert: a fixed function of
      each sample, independent of the batch. Loss values differ from "train" mode, and so may the
      step at which they cross the 0.75 threshold, which was measured in "train" mode.
    """

    def __init__(self, expert: nn.Module, bn_mode: str) -> None:
        super().__init__()
        self.expert = expert.requires_grad_(False)
        self.bn_mode = bn_mode
        self._set_mode()

    def _set_mode(self) -> None:
        nn.Module.train(self.expert, self.bn_mode == "train")
        for module in self.expert.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.track_running_stats = self.bn_mode == "eval"

    def train(self, mode: bool = True) -> FrozenExpert:
        """The expert's mode is fixed by ``bn_mode``; the trainer's train()/eval() leave it alone."""
        self.training = mode
        return self

    def forward(self, generated: torch.Tensor, mel: torch.Tensor) -> torch.Tensor:
        """Sync loss of generated windows (B, 3, T, 96, 96) against their mel windows (B, 1, 80, 16)."""
        audio_emb, face_emb = self.expert(mel, lower_half_frames(generated))
        ones = torch.ones(len(generated), 1, device=generated.device)
        return cosine_bce(audio_emb, face_emb, ones)


class SyncWeight:
    """alpha over a run: 0 until validation's sync loss < threshold ("rule"), or from the start ("fixed").

    Under the rule the switch is permanent, as in the original; the step at which it happened is
    part of the checkpointed state.
    """

    def __init__(self, config: SyncLossConfig) -> None:
        self.config = config
        self.switched_at: int | None = None

    def active(self, step: int) -> bool:
        """Whether alpha is on at optimiser step ``step`` (0-based). A fixed schedule switches on at
        the first step it sees: 0 in a fresh run, the resumed step when it turns alpha on by hand.
        The rule switches at ``switch_by`` at the latest."""
        deadline = self.config.switch_by
        if self.switched_at is None and (self.config.schedule == "fixed" or (deadline is not None and step >= deadline)):
            self.switched_at = step
        return self.switched_at is not None

    def value(self, step: int) -> float:
        """alpha at optimiser step ``step``."""
        return self.config.weight if self.active(step) else 0.0

    def observe(self, val_sync_loss: float, step: int) -> bool:
        """Apply the rule after a validation; True when this call switched alpha on."""
        if self.switched_at is not None or not val_sync_loss < self.config.threshold:
            return False
        self.switched_at = step
        return True

    def state_dict(self) -> dict[str, Any]:
        return {"switched_at": self.switched_at}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the switch; a "fixed" schedule resumed from a run still at alpha = 0 switches at
        its first step."""
        self.switched_at = state["switched_at"]
