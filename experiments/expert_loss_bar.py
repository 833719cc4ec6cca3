"""Where the 0.75 rule stands: the frozen expert's sync loss on real, degraded and generated frames.

Run:  .venv/bin/python experiments/expert_loss_bar.py --store data/synth_store --expert EXPERT [GENERATOR ...]
          [--config configs/synth_cpu.yaml] [--windows 200] [--batch 4] [--expert-bn train]

Windows are drawn as the recipe's validation draws them (its sampling: reference distance, mel offset).

The generator recipe's validation scores generated windows with the frozen expert in batches of
``--batch`` windows (train-mode BatchNorm, as the original). This scores, the same way and on
the same validation windows:

- the ground truth, and the ground truth blurred (Gaussian, sigma 1, 2, 3 pixels): how much
  sharpness the rule demands;
- the training reference copied as the output: mouths that ignore the audio;
- each generator given.

It then shows whether the expert's gradient reaches the frames: 60 Adam steps on the pixels of
the first batch's copied reference, minimising the sync loss.
"""

from __future__ import annotations

import argparse

import torch
from scipy.ndimage import gaussian_filter
from torch.utils.data import default_collate

from attnwav2lip.checkpoints import load_model
from attnwav2lip.train import TrainConfig, build_datasets, resolve_config
from attnwav2lip.train.expert_loss import FrozenExpert

BLURS = (1.0, 2.0, 3.0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("generators", nargs="*", help="generator weights files")
    parser.add_argument("--store", required=True, help="clip store (attnwav2lip preprocess)")
    parser.add_argument("--expert", required=True, help="the frozen expert's weights file")
    parser.add_argument("--config", default="configs/synth_cpu.yaml",
                        help="the generator recipe whose validation sampling draws the windows")
    parser.add_argument("--split", default="val")
    parser.add_argument("--windows", type=int, default=200)
    parser.add_argument("--batch", type=int, default=4, help="windows per expert batch (the recipe's batch)")
    parser.add_argument("--expert-bn", default="train", choices=("train", "eval"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.set_num_threads(1)
    expert = FrozenExpert(load_model(args.expert, kind="expert"), args.expert_bn)
    config = resolve_config(TrainConfig, args.config, {"data.root": args.store, "data.val_split": args.split})
    _, data = build_datasets(config.data, "generator", args.seed)  # windows as the recipe's validation draws them
    items = [data.sample(0, i) for i in range(args.windows)]
    batches = [default_collate(items[i : i + args.batch]) for i in range(0, len(items) - args.batch + 1, args.batch)]
    rows = {"ground truth": lambda b: b["gt"]}
    rows |= {f"ground truth, blur sigma {s:g}": (lambda b, s=s: gaussian_blur(b["gt"], s)) for s in BLURS}
    rows["training reference copied"] = lambda b: b["faces"][:, 3:]
    for path in args.generators:
        generator = load_model(path, kind="generator").eval()
        rows[str(path)[-60:]] = lambda b, g=generator: g(b["indiv_mels"], b["faces"])
    print(f"sync loss, {len(batches)} batches of {args.batch} {args.split} windows, expert BatchNorm {args.expert_bn}")
    with torch.no_grad():
        for name, frames in rows.items():
            losses = torch.tensor([expert(frames(b), b["mel"]).item() for b in batches])
            print(f"{name:<62} {losses.mean():.3f} ± {losses.std() / len(losses) ** 0.5:.3f}")
    first = batches[0]
    pixels = first["faces"][:, 3:].clone().requires_grad_(True)
    optimizer = torch.optim.Adam([pixels], lr=1e-2)
    for step in range(61):
        loss = expert(pixels.clamp(0, 1), first["mel"])
        if step % 20 == 0:
            change = (pixels.detach() - first["faces"][:, 3:]).abs().mean().item()
            print(f"pixels optimised, step {step:2d}: sync loss {loss.item():.3f}, mean |change| {change:.4f}")
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def gaussian_blur(frames: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian blur of (B, C, T, H, W) frames over H and W, edges replicated."""
    blurred = gaussian_filter(frames.numpy(), sigma=(0, 0, 0, sigma, sigma), mode="nearest", truncate=3.0)
    return torch.from_numpy(blurred)


if __name__ == "__main__":
    main()
