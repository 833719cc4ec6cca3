"""Does a generator use its audio? Lower-face errors with the right audio and with another window's.

Run:  .venv/bin/python experiments/audio_use.py --store data/synth_store CKPT [CKPT ...] [--windows 96]
          [--config configs/synth_cpu.yaml]

For ``--windows`` validation windows of the clip store (drawn as training draws them, seed
``--seed``), each generator runs four times: with its own audio or with another window's (the
batch's mels rolled by one), and with the training reference (another window of the clip) or
the target frames themselves as reference (what inference does). Printed per checkpoint, in
L1 over the lower half and over a mouth box (rows 60-90, columns 28-68 of 96):

- ``gain``: L1 with the wrong audio minus L1 with the right one. 0: the audio is ignored.
  This is the training validation's ``audio_gain`` on more windows.
- ``change``: how much the output moves when the audio changes, right or wrong.

The first line holds two baselines: copying the training reference, and the target itself.
``--stages`` also prints where the audio fades: per stage (mel encoder, each decoder block after
its attention, output), the relative change ||f(right) - f(wrong)|| / ||f(right)|| of its
activations on the training references.
"""

from __future__ import annotations

import argparse

import torch
from torch.utils.data import default_collate

from attnwav2lip.checkpoints import load_model
from attnwav2lip.train import TrainConfig, build_datasets, resolve_config
from attnwav2lip.train.losses import lower_half

MOUTH = (slice(60, 90), slice(28, 68))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("checkpoints", nargs="+", help="generator weights files")
    parser.add_argument("--store", required=True, help="clip store (attnwav2lip preprocess)")
    parser.add_argument("--config", default="configs/synth_cpu.yaml",
                        help="the generator recipe whose validation sampling draws the windows")
    parser.add_argument("--split", default="val")
    parser.add_argument("--windows", type=int, default=96)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--stages", action="store_true", help="also print the audio's share per stage")
    args = parser.parse_args()

    torch.set_num_threads(1)
    config = resolve_config(TrainConfig, args.config, {"data.root": args.store, "data.val_split": args.split})
    _, data = build_datasets(config.data, "generator", args.seed)  # windows as the recipe's validation draws them
    items = [data.sample(0, i) for i in range(args.windows)]
    batches = [default_collate(items[i : i + args.batch]) for i in range(0, len(items), args.batch)]
    print(f"{len(items)} windows of {args.store} ({args.split}); L1 lower half / mouth box")
    copy_ref = _mean([_errors(b["faces"][:, 3:], b["gt"]) for b in batches])
    print(f"copying the training reference: {copy_ref[0]:.4f} / {copy_ref[1]:.4f}")
    print(f"{'checkpoint':<48} {'reference':<9} {'right audio':>15} {'gain':>17} {'change':>17}")
    for path in args.checkpoints:
        generator = load_model(path, kind="generator").eval()
        for name, reference in (("training", lambda b: b["faces"]), ("itself", _self_reference)):
            right, wrong, change = [], [], []
            with torch.no_grad():
                for b in batches:
                    out = generator(b["indiv_mels"], reference(b))
                    miscued = generator(b["indiv_mels"].roll(1, dims=0), reference(b))
                    right.append(_errors(out, b["gt"]))
                    wrong.append(_errors(miscued, b["gt"]))
                    change.append(_errors(miscued, out))
            r, w, c = _mean(right), _mean(wrong), _mean(change)
            print(f"{str(path)[-48:]:<48} {name:<9} {r[0]:.4f} / {r[1]:.4f} "
                  f"{w[0] - r[0]:+.5f} / {w[1] - r[1]:+.5f} {c[0]:.5f} / {c[1]:.5f}")
        if args.stages:
            shares = _stage_shares(generator, batches)
            print("  audio's share per stage: " + "  ".join(f"{k} {v:.3f}" for k, v in shares.items()))


def _stage_shares(generator: torch.nn.Module, batches: list[dict[str, torch.Tensor]]) -> dict[str, float]:
    """Relative change of each stage's activations when every window gets another window's audio."""
    stages = {"mel": generator.audio_encoder,
              **{f"dec{i}": attend for i, attend in enumerate(generator.decoder_attention)},
              "out": generator.output_block}
    captured: dict[str, torch.Tensor] = {}
    handles = [module.register_forward_hook(lambda _m, _i, out, name=name: captured.__setitem__(name, out))
               for name, module in stages.items()]
    moved = dict.fromkeys(stages, 0.0)
    norms = dict.fromkeys(stages, 0.0)
    try:
        with torch.no_grad():
            for b in batches:
                generator(b["indiv_mels"], b["faces"])
                right = dict(captured)
                generator(b["indiv_mels"].roll(1, dims=0), b["faces"])
                for name in stages:
                    moved[name] += (captured[name] - right[name]).norm().item() ** 2
                    norms[name] += right[name].norm().item() ** 2
    finally:
        for handle in handles:
            handle.remove()
    return {name: (moved[name] / norms[name]) ** 0.5 for name in stages}


def _self_reference(batch: dict[str, torch.Tensor]) -> torch.Tensor:
    return torch.cat([batch["faces"][:, :3], batch["gt"]], dim=1)


def _errors(a: torch.Tensor, b: torch.Tensor) -> tuple[float, float]:
    """Mean absolute difference of (B, 3, T, H, W) windows over the lower half and the mouth box."""
    diff = (a - b).abs()
    return lower_half(diff).mean().item(), diff[..., MOUTH[0], MOUTH[1]].mean().item()


def _mean(values: list[tuple[float, float]]) -> tuple[float, float]:
    return sum(v[0] for v in values) / len(values), sum(v[1] for v in values) / len(values)


if __name__ == "__main__":
    main()
