"""Generator forward time on CPU: torch vs onnxruntime on the exported graph, in one run.

For each width, a random-init AttnWav2Lip generator (attention "both") is exported with
``attnwav2lip.export.export_onnx`` (dynamic batch) and both runtimes are timed on the same inputs
with the same thread count. Measurements alternate torch / onnxruntime so that load from other
processes hits both alike; the median per call is reported as ms per frame.

    MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=100000000000 MALLOC_TOP_PAD_=1073741824 \\
        .venv/bin/python benchmarks/bench_export.py [--widths 1.0 0.25] [--batches 1 16] [--repeats 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch

from attnwav2lip.export import FACE_SHAPE, MEL_SHAPE, OnnxGenerator, export_onnx
from attnwav2lip.models import Generator
from record import Record, add_json_argument


def timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def bench_width(width: float, batches: list[int], repeats: int, threads: int, folder: Path, record: Record) -> None:
    generator = Generator(width=width, attention="both").eval()
    params = sum(p.numel() for p in generator.parameters())
    path = folder / f"generator_{width}.onnx"
    export_s = timed(export_onnx, generator, path)
    session = OnnxGenerator(path, threads=threads)
    size_mb = path.stat().st_size / 1e6
    print(f"width {width}: {params / 1e6:.2f} M params, export {export_s:.1f} s, {size_mb:.1f} MB")
    record.add("export", width=width, params=params, export_s=export_s, size_mb=size_mb)
    for batch in batches:
        rng = torch.Generator().manual_seed(batch)
        mels = torch.rand((batch, *MEL_SHAPE), generator=rng) * 8 - 4
        faces = torch.rand((batch, *FACE_SHAPE), generator=rng)
        with torch.inference_mode():
            expected = generator(mels, faces)
            diff = float((expected - session(mels, faces)).abs().max())
            for _ in range(2):  # warm-up: allocator, oneDNN / ORT kernel selection
                generator(mels, faces)
                session(mels, faces)
            torch_s, ort_s = [], []
            for _ in range(repeats):
                torch_s.append(timed(generator, mels, faces))
                ort_s.append(timed(session, mels, faces))
        t_ms = statistics.median(torch_s) * 1e3 / batch
        o_ms = statistics.median(ort_s) * 1e3 / batch
        print(
            f"  batch {batch:2d}: torch {t_ms:8.2f} ms/frame  onnxruntime {o_ms:8.2f} ms/frame  "
            f"speed-up {t_ms / o_ms:4.2f}x  max|diff| {diff:.1e}"
        )
        record.add("forward_ms_per_frame", width=width, batch=batch, torch=t_ms, onnxruntime=o_ms, max_abs_diff=diff)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--widths", type=float, nargs="+", default=[1.0, 0.25])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--repeats", type=int, default=10, help="timed calls per runtime and batch (median kept)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="threads for both runtimes")
    add_json_argument(parser)
    args = parser.parse_args()
    record = Record(__file__, args)
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s) each, {args.repeats} timed calls per cell")
    with tempfile.TemporaryDirectory() as folder:
        for width in args.widths:
            bench_width(width, args.batches, args.repeats, args.threads, Path(folder), record)
    record.save()


if __name__ == "__main__":
    main()
