"""A lip-sync expert's validation BCE on many more windows than a training run's periodic check.

Run:  .venv/bin/python experiments/expert_validation.py --run RUN_DIR [--checkpoint CKPT] [--windows 3200]

Training validates on ``schedule.val_batches`` batches (320 windows for configs/synth_cpu_expert.yaml),
so its BCE moves by a few hundredths between checks. This draws ``--windows`` validation windows
(half in sync, half shifted, as training draws them) and prints the BCE with its standard error,
the accuracy, and the BCE of the in-sync windows alone: the value a perfect generator would
get as its sync loss, to set against the 0.75 rule. BatchNorm uses the saved running statistics
(eval mode), as the training run's validation does.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import torch
import torch.nn.functional as F

from attnwav2lip.checkpoints import load_model
from attnwav2lip.train import ExpertTrainConfig, build_datasets, resolve_config
from attnwav2lip.checkpoints import network_file
from attnwav2lip.train.losses import sync_probability


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--run", required=True, help="train-expert run folder (its config names the data)")
    parser.add_argument("--checkpoint", help="checkpoint folder or file (default: the run's latest)")
    parser.add_argument("--windows", type=int, default=3200)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seed", type=int, default=1234, help="sampling seed (not the run's own)")
    args = parser.parse_args()

    torch.set_num_threads(1)
    config = resolve_config(ExpertTrainConfig, Path(args.run) / "config.yaml", {})
    expert = load_model(network_file(args.checkpoint or args.run, "expert"), kind="expert").eval()
    _, val = build_datasets(config.data, "expert", args.seed)
    losses, labels, correct = [], [], 0
    with torch.no_grad():
        for start in range(0, args.windows, args.batch):
            items = [val.sample(i // len(val), i % len(val)) for i in range(start, min(start + args.batch, args.windows))]
            batch = {key: torch.stack([item[key] for item in items]) for key in items[0]}
            audio, face = expert(batch["mel"], batch["faces"])
            cos = sync_probability(audio, face)  # as training's cosine_bce (torch's BCE floors log at -100)
            label = batch["label"].view(-1)
            losses.append(F.binary_cross_entropy(cos, label, reduction="none"))
            labels.append(label)
            correct += int(((cos > 0.5) == (label > 0.5)).sum())
    loss, label = torch.cat(losses), torch.cat(labels)
    n = len(loss)
    print(f"{n} validation windows ({int(label.sum())} in sync)")
    print(f"BCE {loss.mean():.4f} +- {loss.std() / math.sqrt(n):.4f} (standard error); accuracy {correct / n:.4f}")
    print(f"in-sync windows only: BCE {loss[label > 0.5].mean():.4f}; shifted only: {loss[label < 0.5].mean():.4f}")


if __name__ == "__main__":
    main()
