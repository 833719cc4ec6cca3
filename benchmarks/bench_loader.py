"""Data loader throughput vs what one training step consumes, on a real on-disk clip store.

    MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=100000000000 MALLOC_TOP_PAD_=1073741824 \
        .venv/bin/python benchmarks/bench_loader.py [--workers 1 2] [--width 0.25] [--batches 40]

1. Writes a store of ``--clips`` clips x ``--frames`` frames of synthetic 96x96 crops with noise
   audio (``write_clip``: frames.npy, audio.wav, mel.npy, meta.json + manifest) in a temp folder.
2. Loader: ``DataLoader(GeneratorDataset | ExpertDataset, batch_size, num_workers=w)``; the
   first batch (worker start-up) is excluded; samples/s over ``--batches`` batches. Also the
   generator loader on the same clips written as the original jpg layout (``Wav2LipLayout``).
3. Training: ``Generator(width, attention="both")``, batch of 16 windows (80 frames),
   L1 + forward + backward + Adam step on a batch from the loader; 2 warm-up steps, median of
   ``--steps``. samples/s = windows / step time.
4. Training fed live by the loader (1 worker): the loader then shares the 2 cores with training;
   this shows whether loading slows a real step.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from attnwav2lip.data.datasets import ExpertDataset, GeneratorDataset, SamplingConfig
from attnwav2lip.data.store import MANIFEST, ClipStore, append_jsonl, write_clip
from attnwav2lip.data.wav2lip_layout import Wav2LipLayout
from attnwav2lip.models import Generator
from record import Record, add_json_argument


def make_store(root: Path, clips: int, frames: int, size: int = 96) -> None:
    import cv2

    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (clips, 12, 12, 3)).astype(np.float32)
    records = []
    for c in range(clips):
        face = cv2.resize(base[c], (size, size), interpolation=cv2.INTER_CUBIC)
        video = np.stack([np.roll(face, k % 7, axis=1) for k in range(frames)]).clip(0, 255).astype(np.uint8)
        wav = (0.1 * rng.standard_normal(frames * 640)).astype(np.float32)
        write_clip(root, f"spk{c:03d}/00001", video, wav, fps=25.0, source="synthetic")
        records.append({"id": f"spk{c:03d}/00001", "frames": frames, "fps": 25.0, "source": "synthetic", "split": "train"})
    append_jsonl(root / MANIFEST, records)


def make_wav2lip_layout(store: ClipStore, root: Path, raw: int = 120) -> None:
    """The same clips as the original layout: one BGR jpg per frame at ``raw`` px, audio.wav, filelist."""
    import cv2

    from attnwav2lip.data.store import clip_dir

    keys = []
    for record in store.records:
        folder = root / record.id
        folder.mkdir(parents=True)
        for i, frame in enumerate(np.load(clip_dir(store.root, record.id) / "frames.npy")):
            cv2.imwrite(str(folder / f"{i}.jpg"), cv2.cvtColor(cv2.resize(frame, (raw, raw)), cv2.COLOR_RGB2BGR))
        (folder / "audio.wav").write_bytes((clip_dir(store.root, record.id) / "audio.wav").read_bytes())
        keys.append(record.id)
    (root / "filelists").mkdir()
    (root / "filelists" / "train.txt").write_text("".join(k + "\n" for k in keys))


def loader_rate(dataset, batch: int, workers: int, batches: int) -> float:
    loader = DataLoader(dataset, batch_size=batch, num_workers=workers, shuffle=True)
    iterator = iter(loader)
    next(iterator)  # start-up
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return batches * batch / (time.perf_counter() - start)


def cpu_ms_per_sample(dataset, count: int) -> float:
    """CPU time (all threads) per sample drawn in this process: insensitive to other load on the machine."""
    start = time.process_time()
    for i in range(count):
        dataset.sample(0, i)
    return 1000 * (time.process_time() - start) / count


def train_rate(batch_iter, width: float, steps: int) -> float:
    model = Generator(width=width, attention="both")
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    times, cpu = [], []
    for i in range(2 + steps):
        start, start_cpu = time.perf_counter(), time.process_time()  # includes waiting for the batch
        item = next(batch_iter)
        out = model(item["indiv_mels"], item["faces"])
        loss = torch.nn.functional.l1_loss(out, item["gt"])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if i >= 2:
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        windows = item["faces"].shape[0]
    print(f"  training step CPU time (all threads): {statistics.median(cpu) * 1000 / windows:.0f} ms per window", flush=True)
    return windows / statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=24)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--width", type=float, default=0.25)
    parser.add_argument("--steps", type=int, default=3)
    add_json_argument(parser)
    args = parser.parse_args()
    record = Record(__file__, args)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, load average {os.getloadavg()[0]:.1f}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        make_store(root, args.clips, args.frames)
        print(f"store: {args.clips} clips x {args.frames} frames written in {time.perf_counter() - start:.2f} s", flush=True)
        store = ClipStore(root)
        config = SamplingConfig(samples_per_epoch=1_000_000)
        generator_set = GeneratorDataset(store, config, seed=0)
        expert_set = ExpertDataset(store, config, seed=0)
        loader = {}
        for workers in args.workers:
            loader[workers] = loader_rate(generator_set, args.batch, workers, args.batches)
            expert = loader_rate(expert_set, 64, workers, max(args.batches // 4, 5))
            print(f"loader, {workers} worker(s): generator {loader[workers]:.0f} windows/s (batch {args.batch}), "
                  f"expert {expert:.0f} windows/s (batch 64)", flush=True)
            record.add("loader_windows_per_s", workers=workers, generator=loader[workers], expert=expert)
        cpu_ms = {"generator": cpu_ms_per_sample(generator_set, 200), "expert": cpu_ms_per_sample(expert_set, 200)}
        print(f"loader CPU time per window, in-process: generator {cpu_ms['generator']:.2f} ms, "
              f"expert {cpu_ms['expert']:.2f} ms", flush=True)
        record.add("loader_cpu_ms_per_window", **cpu_ms)
        make_wav2lip_layout(store, root / "wav2lip")
        layout = Wav2LipLayout(root / "wav2lip", "train")
        original = loader_rate(GeneratorDataset(layout, config, seed=0), args.batch, args.workers[0], max(args.batches // 4, 5))
        print(f"loader on the original jpg layout (mels computed once per clip), {args.workers[0]} worker(s): "
              f"generator {original:.0f} windows/s", flush=True)
        record.add("original_layout_windows_per_s", workers=args.workers[0], generator=original)
        prefetched = [b for _, b in zip(range(2 + args.steps), DataLoader(generator_set, batch_size=args.batch))]
        train = train_rate(iter(prefetched), args.width, args.steps)
        print(f"training step (Generator width={args.width}, attention=both, batch {args.batch} windows): "
              f"{train:.1f} windows/s ({args.batch / train * 1000:.0f} ms/step)", flush=True)
        for workers, rate in loader.items():
            print(f"loader/training ratio, {workers} worker(s): {rate / train:.1f}x (target >= 3x)")
        live = train_rate(iter(DataLoader(generator_set, batch_size=args.batch, num_workers=1)), args.width, args.steps)
        print(f"training fed live by a 1-worker loader: {live:.1f} windows/s ({args.batch / live * 1000:.0f} ms/step)")
        record.add("training_windows_per_s", width=args.width, batch=args.batch, prefetched=train, live_1_worker=live)
    record.save()


if __name__ == "__main__":
    main()
