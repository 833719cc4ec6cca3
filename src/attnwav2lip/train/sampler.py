"""The order in which a run visits its samples: deterministic, resumable and sharded.

Epoch ``e`` is a permutation of the dataset drawn from ``(seed, e)``; it is cut into global
batches (an incomplete last batch is dropped) and each process takes its contiguous share of
every global batch, cut again into micro-batches for gradient accumulation. The position in this
order is just ``(epoch, batch)``, which is what a checkpoint stores to resume exactly.
"""

from __future__ import annotations

import dataclasses
from typing import Iterator

import torch

from ..errors import ConfigError


@dataclasses.dataclass(frozen=True)
class Position:
    """Where the next step's global batch is: ``batch`` within ``epoch``."""

    epoch: int = 0
    batch: int = 0


class ShardedBatchSampler:
    """Yields this process's index list for each global batch of one epoch, from a position on.

    ``shuffle=False`` visits the dataset in order (validation: the same batches every time).
    """

    def __init__(self, length: int, global_batch: int, *, rank: int = 0, world_size: int = 1,
                 seed: int = 0, shuffle: bool = True, name: str = "dataset") -> None:
        if global_batch % world_size:
            raise ConfigError(f"the batch size {global_batch} is not divisible by the {world_size} processes")
        if length < global_batch:
            raise ConfigError(f"the {name} has {length} samples, fewer than one batch of {global_batch}")
        self.length = length
        self.global_batch = global_batch
        self.share = global_batch // world_size
        self.rank = rank
        self.seed = seed
        self.shuffle = shuffle
        self.position = Position()

    @property
    def batches_per_epoch(self) -> int:
        return self.length // self.global_batch

    def set_position(self, position: Position) -> None:
        """Start the next iteration at ``position`` (the batches before it are skipped unread)."""
        self.position = position

    def order(self, epoch: int) -> torch.Tensor:
        """The global sample order of ``epoch``."""
        if not self.shuffle:
            return torch.arange(self.length)
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        return torch.randperm(self.length, generator=generator)

    def __iter__(self) -> Iterator[list[int]]:
        order = self.order(self.position.epoch)
        start = self.rank * self.share
        for b in range(self.position.batch, self.batches_per_epoch):
            first = b * self.global_batch + start
            yield order[first : first + self.share].tolist()

    def __len__(self) -> int:
        return self.batches_per_epoch - self.position.batch
