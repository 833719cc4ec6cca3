"""Parameter counts of the four networks and generator forward time per frame, attention off vs on.

    MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=100000000000 MALLOC_TOP_PAD_=1073741824 \
        .venv/bin/python benchmarks/bench_generator.py [--widths 1.0 0.25] [--batches 1 16] [--repeats 5]

Timing: eval mode, no_grad, float32, 2 warm-up iterations, median of ``--repeats``; "none" and
"both" are timed in the same run, their iterations interleaved, so machine load affects both alike.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

from attnwav2lip.models import Generator, LipSyncExpert, QualityDiscriminator, SyncNetEvaluator
from attnwav2lip.models.config import ATTENTION_KINDS
from record import Record, add_json_argument


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def ms_per_frame(models: dict[str, Generator], batch: int, repeats: int, device: str) -> dict[str, list[float]]:
    """Per-frame times of each model, iterations interleaved so a load spike hits every model alike."""
    mels = torch.rand(batch, 1, 80, 16, device=device)
    faces = torch.rand(batch, 6, 96, 96, device=device)
    times: dict[str, list[float]] = {name: [] for name in models}
    with torch.no_grad():
        for i in range(2 + repeats):
            for name, model in models.items():
                if device == "cuda":
                    torch.cuda.synchronize()
                start = time.perf_counter()
                model(mels, faces)
                if device == "cuda":
                    torch.cuda.synchronize()
                if i >= 2:
                    times[name].append(1000 * (time.perf_counter() - start) / batch)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", type=float, nargs="+", default=[1.0, 0.25])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--device", default="cpu")
    add_json_argument(parser)
    args = parser.parse_args()
    record = Record(__file__, args)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, device {args.device}, {torch.get_num_threads()} CPU threads")

    print("\nparameters")
    print(f"{'network':<26}" + "".join(f"{f'width {w}':>14}" for w in args.widths))
    rows = [(f"generator attention={kind}", lambda w, k=kind: Generator(width=w, attention=k)) for kind in ATTENTION_KINDS]
    rows += [("lip-sync expert", lambda w: LipSyncExpert(width=w)),
             ("quality discriminator", lambda w: QualityDiscriminator(width=w)),
             ("evaluation SyncNet", lambda w: SyncNetEvaluator(width=w))]
    for name, build in rows:
        counts = [n_params(build(w)) for w in args.widths]
        print(f"{name:<26}" + "".join(f"{n:>14,}" for n in counts))
        record.add("parameters", network=name, **{f"width {w}": n for w, n in zip(args.widths, counts)})

    print(f"\ngenerator forward, ms per frame: median (min) of {args.repeats}; load average {os.getloadavg()[0]:.1f}")
    print(f"{'width':>6} {'batch':>6} {'none':>18} {'both':>18} {'both/none':>10}")
    for width in args.widths:
        models = {kind: Generator(width=width, attention=kind).to(args.device).eval() for kind in ("none", "both")}
        for batch in args.batches:
            times = ms_per_frame(models, batch, args.repeats, args.device)
            none, both = (statistics.median(times[k]) for k in ("none", "both"))
            cells = "".join(f"{f'{statistics.median(times[k]):.2f} ({min(times[k]):.2f})':>18} " for k in ("none", "both"))
            print(f"{width:>6} {batch:>6} {cells}{both / none:>10.2f}")
            record.add("forward_ms_per_frame", width=width, batch=batch, none=none, both=both,
                       none_min=min(times["none"]), both_min=min(times["both"]))
    record.save()

if __name__ == "__main__":
    main()
