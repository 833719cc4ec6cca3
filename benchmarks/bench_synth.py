"""SynthTalk numbers: render speed, encode speed, and the default detector's hit rate on rendered faces.

    python benchmarks/bench_synth.py speed [--frames 500] [--size 256]
    python benchmarks/bench_synth.py detect [--identities 200] [--frames 4]

`speed` times rendering alone on one thread (cv2.setNumThreads(1): frames per second per core),
then H.264 + AAC encoding separately. `detect` renders `--identities` identities, each with its
own motion sampled across the full pose range, runs the package's default face detector
(attnwav2lip.faces.DetectorConfig()) on `--frames` frames each, and reports the share of frames
with a detection of IoU >= 0.5 against the ground-truth box, overall and per attribute.
Export MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=100000000000 MALLOC_TOP_PAD_=1073741824
before timing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from record import Record, add_json_argument


def _clip(n: int, seed: int = 0):
    from attnwav2lip.synth.identity import sample_identity
    from attnwav2lip.synth.motion import sample_motion

    rng = np.random.default_rng(seed)
    track = rng.uniform([0, -1, 0, 0, 0, 0], [1, 1, 1, 1, 0.3, 0.3], (n, 6)).astype(np.float32)
    return sample_identity(seed), sample_motion(seed, n), track


def speed(frames: int, size: int, record: Record) -> None:
    import cv2

    from attnwav2lip.synth.render import Renderer
    from attnwav2lip.video import write_video

    cv2.setNumThreads(1)
    for jpeg in (False, True):
        times, cpu, setups = [], [], []
        for seed in range(4):
            ident, motion, track = _clip(frames, seed)
            if not jpeg:
                motion = type(motion)(**{**motion.__dict__, "jpeg": 0})
            elif motion.jpeg == 0:
                motion = type(motion)(**{**motion.__dict__, "jpeg": 85})
            t0 = time.perf_counter()
            renderer = Renderer(ident, motion, size)
            t1, c1 = time.perf_counter(), time.process_time()
            for i in range(frames):
                renderer.frame(i, track[i])
            times.append(time.perf_counter() - t1)
            cpu.append(time.process_time() - c1)
            setups.append(t1 - t0)
        fps = frames / np.array(times[1:])  # the first clip warms up
        per_cpu = frames / np.array(cpu[1:])
        print(f"render {size}x{size}, jpeg={'on' if jpeg else 'off'}: {fps.mean():.0f} frames/s wall "
              f"(min {fps.min():.0f}, max {fps.max():.0f}), {per_cpu.mean():.0f} frames per CPU-second (one thread); "
              f"per-clip setup {np.mean(setups[1:]) * 1000:.0f} ms")
        record.add("render", size=size, jpeg=jpeg, frames_per_s=float(fps.mean()), frames_per_cpu_s=float(per_cpu.mean()),
                   setup_ms=float(np.mean(setups[1:]) * 1000))
    ident, motion, track = _clip(frames, 9)
    renderer = Renderer(ident, motion, size)
    video = np.stack([renderer.frame(i, track[i]) for i in range(frames)])
    audio = np.zeros(int(frames / 25 * 16000), np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        t0, c0 = time.perf_counter(), time.process_time()
        write_video(Path(tmp) / "x.mp4", video, 25, audio)
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
    print(f"encode H.264 + AAC (veryfast, crf 18): {frames / dt:.0f} frames/s wall, {frames / dc:.0f} frames per CPU-second")
    record.add("encode", size=size, frames_per_s=frames / dt, frames_per_cpu_s=frames / dc)


def detect(identities: int, frames: int, record: Record) -> None:
    import cv2

    from attnwav2lip.faces import DetectorConfig, iou_matrix
    from attnwav2lip.synth.render import Renderer

    cv2.setNumThreads(1)
    hits: dict[str, list[float]] = defaultdict(list)
    ious: list[float] = []
    with DetectorConfig().create() as detector:
        for seed in range(identities):
            ident, motion, track = _clip(frames * 10, 1000 + seed)
            renderer = Renderer(ident, motion, 256)
            boxes = renderer.boxes(track)
            idx = np.linspace(0, len(track) - 1, frames).astype(int)
            found = detector.detect([renderer.frame(i, track[i]) for i in idx])
            for i, det in zip(idx, found):
                iou = float(iou_matrix(det.boxes, boxes[i:i + 1]).max()) if len(det) else 0.0
                ious.append(iou)
                tx, ty, scale, roll, yaw, pitch = motion.pose[i]
                keys = {**ident.attributes(), "background": motion.background,
                        "jpeg": "on" if motion.jpeg else "off",
                        "|yaw|": ("0-8", "8-15", "15-22")[min(2, int(abs(yaw) // 7.34))],
                        "|roll|": ("0-5", "5-10", "10-15")[min(2, int(abs(roll) // 5))],
                        "|pitch|": ("0-4", "4-8", "8-12")[min(2, int(abs(pitch) // 4))],
                        "scale": ("0.72-0.85", "0.85-1.0", "1.0-1.12")[int(scale > 0.85) + int(scale > 1.0)],
                        "mouth open": "yes" if track[i, 0] > 0.5 else "no", "blink": "yes" if motion.blink[i] > 0.5 else "no"}
                for attr, value in keys.items():
                    hits[f"{attr}={value}"].append(iou)
    arr = np.array(ious)
    print(f"default detector on {identities} identities x {frames} frames = {len(arr)} frames: "
          f"hit rate (IoU >= 0.5) {np.mean(arr >= 0.5) * 100:.1f}%, detected {np.mean(arr > 0) * 100:.1f}%, "
          f"mean IoU {arr[arr > 0].mean():.3f} (median {np.median(arr[arr > 0]):.3f})")
    record.add("detector", frames=len(arr), hit_rate=float(np.mean(arr >= 0.5)), detected=float(np.mean(arr > 0)),
               mean_iou=float(arr[arr > 0].mean()))
    print(f"{'attribute':28s} {'frames':>6s} {'hit %':>6s} {'mean IoU':>8s}")
    for key in sorted(hits):
        v = np.array(hits[key])
        mean_iou = float(v[v > 0].mean()) if (v > 0).any() else 0.0
        print(f"{key:28s} {len(v):6d} {np.mean(v >= 0.5) * 100:6.1f} {mean_iou:8.3f}")
        record.add("detector_by_attribute", attribute=key, frames=len(v), hit_rate=float(np.mean(v >= 0.5)), mean_iou=mean_iou)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode", required=True)
    sp = sub.add_parser("speed")
    sp.add_argument("--frames", type=int, default=500)
    sp.add_argument("--size", type=int, default=256)
    dp = sub.add_parser("detect")
    dp.add_argument("--identities", type=int, default=200)
    dp.add_argument("--frames", type=int, default=4)
    for mode in (sp, dp):
        add_json_argument(mode)
    args = parser.parse_args(sys.argv[1:] or ["speed"])  # `make bench` runs the speed mode
    record = Record(f"{__file__[:-3]}_{args.mode}", args)
    if args.mode == "speed":
        speed(args.frames, args.size, record)
    else:
        detect(args.identities, args.frames, record)
    record.save()


if __name__ == "__main__":
    main()
