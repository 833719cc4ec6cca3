"""How far bf16 moves a trained generator's faces from fp32's: PSNR at 96 px, as `sync` rounds them.

Run:  .venv/bin/python benchmarks/precision_quality.py --store data/synth_store [CKPT ...] [--windows 96]

For ``--windows`` validation windows of a clip store (drawn as the recipe's validation draws them),
each generator (default: the built-in one) runs on the frames themselves as references (what
``sync`` does) in fp32 and under bf16 autocast with channels_last (``attnwav2lip.precision``). Both
outputs are rounded to uint8 as ``sync`` writes them, and compared over the whole 96-px face and
over its lower half, the part ``sync`` pastes. bf16 is forced, so this runs on any CPU (slowly
where bf16 is emulated); the CPU and its bf16 flags are printed with the numbers.
"""

from __future__ import annotations

import argparse
import math

import torch
from torch.utils.data import default_collate

from attnwav2lip.builtin import builtin_path
from attnwav2lip.checkpoints import load_model
from attnwav2lip.precision import NATIVE_BF16_FLAGS, PrecisionChoice, autocast, cpu_flags, cpu_name, memory_format
from attnwav2lip.train import TrainConfig, build_datasets, resolve_config

FP32, BF16 = PrecisionChoice("fp32", "benchmark"), PrecisionChoice("bf16", "benchmark")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="*", help="generator weights files (default: the built-in generator)")
    parser.add_argument("--store", required=True, help="clip store (attnwav2lip preprocess)")
    parser.add_argument("--config", default="configs/synth_cpu.yaml", help="recipe whose validation draws the windows")
    parser.add_argument("--windows", type=int, default=96)
    parser.add_argument("--batch", type=int, default=16)
    args = parser.parse_args()

    flags = sorted(cpu_flags() & {*NATIVE_BF16_FLAGS, "amx_tile", "avx512_vnni", "avx512f"})
    print(f"CPU {cpu_name()!r}, flags {', '.join(flags) or 'none of the bf16/AMX/VNNI ones'}; "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    config = resolve_config(TrainConfig, args.config, {"data.root": args.store})
    _, data = build_datasets(config.data, "generator", 0)
    items = [data.sample(0, i) for i in range(args.windows)]
    batches = [default_collate(items[i : i + args.batch]) for i in range(0, len(items), args.batch)]
    print(f"{len(items)} validation windows of {args.store}, the frames themselves as references")
    print(f"{'generator':<48} {'PSNR face dB':>12} {'PSNR lower half dB':>19} {'max |diff| /255':>16}")
    for path in args.checkpoints or [str(builtin_path("generator"))]:
        generator = load_model(path, kind="generator").eval()
        faces = {choice.name: torch.cat([_generate(generator, b, choice) for b in batches]) for choice in (FP32, BF16)}
        diff = faces["bf16"] - faces["fp32"]
        lower = diff[..., diff.shape[-2] // 2 :, :]
        print(f"{str(path)[-48:]:<48} {_psnr(diff):12.2f} {_psnr(lower):19.2f} {diff.abs().max().item():16.0f}")


@torch.no_grad()
def _generate(generator: torch.nn.Module, batch: dict[str, torch.Tensor], choice: PrecisionChoice) -> torch.Tensor:
    """uint8-valued faces (as float) from the targets themselves as references, lower half masked as `sync` does."""
    targets = batch["gt"]  # (B, 3, T, 96, 96)
    masked = targets.clone()
    masked[..., masked.shape[-2] // 2 :, :] = 0
    faces = torch.cat([masked, targets], dim=1)
    model = memory_format(generator, choice)
    with autocast("cpu", choice):
        out = model(batch["indiv_mels"], faces)
    return out.float().clamp(0, 1).mul(255).round()


def _psnr(diff: torch.Tensor) -> float:
    mse = diff.pow(2).mean().item()
    return math.inf if mse == 0 else 10 * math.log10(255 ** 2 / mse)


if __name__ == "__main__":
    main()
