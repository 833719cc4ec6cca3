"""Two DDP processes (gloo, CPU) train exactly what one process does accumulating the same two halves.

Each process normalises BatchNorm with its own half-batch, just as one process does with each
micro-batch, so the trained parameters agree to float rounding. The BatchNorm running
statistics do not: under DDP they are rank 0's, broadcast before every forward (DDP's default),
while one accumulating process updates them with both halves in turn; only parameters are compared.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp
from training_runs import WIDTH, make_store, tiny_generator_config

from attnwav2lip.checkpoints import load_model, save_model
from attnwav2lip.models import LipSyncExpert
from attnwav2lip.train import TrainConfig, train_generator


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rank(rank: int, world_size: int, port: int, config: TrainConfig, run_dir: Path, expert: Path) -> None:
    """One torchrun-like process: the same environment variables, the same entry point."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE=str(world_size), LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    train_generator(config, run_dir, expert=expert)


@pytest.mark.slow
def test_two_processes_equal_one_process_accumulating(tmp_path: Path) -> None:
    store = make_store(tmp_path / "store")
    torch.manual_seed(0)
    expert = tmp_path / "expert.safetensors"
    save_model(LipSyncExpert(width=WIDTH), expert)
    # global batch 4: two processes x 2 windows, or one process x 2 micro-batches of 2
    ddp = tiny_generator_config(store, max_steps=2, batch_size=4)
    mp.spawn(_rank, args=(2, _free_port(), ddp, tmp_path / "ddp", expert), nprocs=2, join=True)
    train_generator(tiny_generator_config(store, max_steps=2, batch_size=4, grad_accum=2), tmp_path / "one",
                    expert=expert)
    for name in ("generator", "discriminator"):
        a, b = (load_model(tmp_path / run / "checkpoints" / "step_000000002" / f"{name}.safetensors")
                for run in ("ddp", "one"))
        params_b = dict(b.named_parameters())
        for key, value in a.named_parameters():
            assert torch.allclose(value, params_b[key], rtol=1e-5, atol=1e-6), (name, key)
