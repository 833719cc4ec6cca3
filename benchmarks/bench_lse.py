"""Cost of LSE scoring: the full-size evaluation SyncNet, the distance step, the JPEG round trip.

Run:  MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=100000000000 \
      MALLOC_TOP_PAD_=1073741824 .venv/bin/python benchmarks/bench_lse.py [--seconds 10] [--device cpu]

The SyncNet runs with random weights (its cost does not depend on the values). The clip is
LRS-like: 160x160 face frames (scikit-image's astronaut) at 25 fps, resized to 224 as the
Wav2Lip scorer does. Timings on a shared machine vary: repeat before quoting.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from attnwav2lip.metrics import jpeg_roundtrip, lse_scores
from attnwav2lip.metrics.lse import offset_distances
from attnwav2lip.models import SyncNetEvaluator
from record import Record, add_json_argument


def loop_distances(video: torch.Tensor, audio: torch.Tensor, vshift: int) -> torch.Tensor:
    """syncnet_python's calc_pdist loop, for comparison with the vectorised form."""
    win = 2 * vshift + 1
    padded = torch.nn.functional.pad(audio, (0, 0, vshift, vshift))
    return torch.stack(
        [torch.nn.functional.pairwise_distance(video[[i]].repeat(win, 1), padded[i : i + win]) for i in range(len(video))]
    )


def best_of(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--device", default="cpu")
    add_json_argument(parser)
    args = parser.parse_args()
    record = Record(__file__, args)

    import cv2
    from skimage import data

    rng = np.random.default_rng(0)
    n = int(args.seconds * 25)
    face = cv2.resize(data.astronaut()[40:280, 120:360], (192, 192))  # a real face, LRS-like framing
    frames = np.stack([np.ascontiguousarray(np.roll(face, k % 16, axis=1)[16:176, 16:176]) for k in range(n)])
    audio = (rng.standard_normal(int(args.seconds * 16000)) * 3000).astype(np.int16)
    torch.manual_seed(0)
    evaluator = SyncNetEvaluator().eval().to(args.device)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, device {args.device}")
    print(f"evaluation SyncNet: {sum(p.numel() for p in evaluator.parameters()):,} parameters")

    lse_scores(frames[:30], audio[: 30 * 640], evaluator)  # warm-up
    for batch in (20, 64):
        t = best_of(lambda: lse_scores(frames, audio, evaluator, batch_size=batch), repeats=2)
        print(f"lse_scores, {args.seconds:g} s clip ({n - 5} windows), batch {batch}: {t:.2f} s "
              f"({(n - 5) / t:.1f} windows/s, {args.seconds / t:.2f}x real time)")
        record.add("lse_scores", seconds=args.seconds, windows=n - 5, batch=batch, wall_s=t)

    emb_v, emb_a = torch.randn(n - 5, 1024), torch.randn(n - 5, 1024)
    t_vec = best_of(lambda: offset_distances(emb_v, emb_a, 15))
    t_loop = best_of(lambda: loop_distances(emb_v, emb_a, 15))
    diff = (offset_distances(emb_v, emb_a, 15) - loop_distances(emb_v, emb_a, 15)).abs().max().item()
    print(f"distances at 31 offsets: vectorised {t_vec * 1e3:.2f} ms, original loop {t_loop * 1e3:.2f} ms, "
          f"max |difference| {diff:.2e}")
    record.add("distances", offsets=31, vectorised_ms=t_vec * 1e3, loop_ms=t_loop * 1e3, max_abs_diff=diff)

    t_jpeg = best_of(lambda: jpeg_roundtrip(frames))
    error = np.abs(jpeg_roundtrip(frames).astype(np.int16) - frames).mean()
    print(f"JPEG round trip (ffmpeg MJPEG defaults): {t_jpeg / n * 1e3:.2f} ms/frame at 160x160, "
          f"mean |error| {error:.2f} grey levels")
    record.add("jpeg_roundtrip", ms_per_frame=t_jpeg / n * 1e3, size=160, mean_abs_error=float(error))
    record.save()


if __name__ == "__main__":
    main()
