"""End-to-end `sync` speed with its stages overlapped and not, per stage, against the bare generator; peak memory vs input length.

    # fps with overlap off (one thread: the baseline) and on, per precision, on a 30 s 720p clip,
    # with the detector (then again with --box: no detection pass):
    MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=100000000000 MALLOC_TOP_PAD_=1073741824 \
        .venv/bin/python benchmarks/bench_sync.py speed --seconds 30 --widths 1.0 --precisions fp32 auto [--box]
    # peak RSS of whole runs (fresh processes) for a 30 s and a 180 s input:
    .venv/bin/python benchmarks/bench_sync.py memory --lengths 30 180 --width 0.125 [--box]

Inputs are synthetic: a real face photo (scikit-image's astronaut) drifting over a 1280x720
background, with modulated noise as speech; they are made once under --work. Detection caching is
off in every run. Settings printed with every table: CPU and its flags, model width, batch size,
x264 preset, torch and codec threads, detector or box, the precision each run resolved to.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np

from record import Record, add_json_argument

SIZE = (1280, 720)
FPS = 25
BOX = (200, 500, 490, 790)  # --box: top, bottom, left, right around the face's mean position
STAGES = ("decode", "detect", "crop", "generate", "blend", "encode")


def make_inputs(seconds: float, work: Path) -> tuple[Path, Path]:
    """A 720p face clip and a 16 kHz speech-like wav of ``seconds`` (made once, then reused)."""
    import cv2
    import skimage.data

    from attnwav2lip.video import VideoWriter

    work.mkdir(parents=True, exist_ok=True)
    clip, speech = work / f"face_{seconds:g}s_720p.mp4", work / f"speech_{seconds:g}s.wav"
    if not clip.exists():
        face = cv2.resize(skimage.data.astronaut()[0:300, 80:380], (300, 300), interpolation=cv2.INTER_AREA)
        background = np.tile(np.linspace(40, 200, SIZE[0], dtype=np.uint8)[None, :, None], (SIZE[1], 1, 3))
        with VideoWriter(clip, FPS, SIZE, preset="ultrafast", crf=20) as writer:
            for i in range(int(seconds * FPS)):
                frame = background.copy()
                x = int(490 + 120 * np.sin(i / 40))
                y = int(200 + 40 * np.sin(i / 23))
                frame[y : y + 300, x : x + 300] = face
                writer.write(frame)
    if not speech.exists():
        rate = 16000
        t = np.arange(int(seconds * rate)) / rate
        noise = np.random.default_rng(0).standard_normal(t.size)
        envelope = np.clip(np.sin(2 * np.pi * 1.5 * t), 0, None)  # syllable-like bursts and pauses
        wav = 0.3 * envelope * (np.sin(2 * np.pi * 150 * t) + 0.3 * noise)
        with wave.open(str(speech), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(rate)
            out.writeframes(np.round(np.clip(wav, -1, 1) * 32767).astype("<i2").tobytes())
    return clip, speech


def bare_generator_ms(generator, batch_size: int, precision, repeats: int = 5) -> float:
    """ms per frame of the generator's forward alone on random inputs, after two warm-up batches, in
    ``precision`` (a resolved ``PrecisionChoice``; the generator already in its memory format)."""
    import torch

    from attnwav2lip.precision import autocast

    mels, faces = torch.randn(batch_size, 1, 80, 16), torch.rand(batch_size, 6, 96, 96)
    times = []
    with torch.inference_mode(), autocast("cpu", precision):
        for i in range(repeats + 2):
            start = time.perf_counter()
            generator(mels, faces)
            if i >= 2:
                times.append(time.perf_counter() - start)
    return 1000.0 * float(np.median(times)) / batch_size


def speed(args: argparse.Namespace, record: Record) -> None:
    import torch

    from attnwav2lip.lipsync import LipSyncer, SyncOptions
    from attnwav2lip.models import Generator, GeneratorConfig

    torch.set_num_threads(args.threads)
    clip, speech = make_inputs(args.seconds, Path(args.work))
    warm_clip, warm_speech = make_inputs(2, Path(args.work))
    detection = (f"fixed box {BOX} (no detection pass)" if args.box
                 else f"detector {detector_in_use(args.detector)}, every {args.detect_every} frame(s)")
    print(describe_cpu())
    print(f"clip {args.seconds:g} s 720p @ {FPS} fps; batch {args.batch_size}; x264 preset {args.preset}; "
          f"torch threads {torch.get_num_threads()}; codec threads (decoder, encoder) overlap off: FFmpeg's and "
          f"x264's choice, on: {SyncOptions().codec_threads} each; {detection} "
          f"(detect side {SyncOptions().detect_max_side}); detection cache off")
    print("per-stage ms per output frame as wall / CPU (CPU = all threads of the process). With overlap on,")
    print("stages run at once in three threads: each wall time is its own thread's, and CPU times overlap")
    header = ("| width | precision | overlap | end-to-end fps | speed-up | bare G ms/frame | "
              + " | ".join(STAGES) + " | total |")
    print(header)
    print("|---" * (header.count("|") - 1) + "|")
    for width in args.widths:
        generator = Generator(GeneratorConfig(width=width)).eval()
        for asked in args.precisions:
            baseline = None
            for overlap in (False, True):
                options = SyncOptions(batch_size=args.batch_size, preset=args.preset, detection_cache=False,
                                      progress=False, detector=args.detector, device="cpu", precision=asked,
                                      box=BOX if args.box else None, overlap=overlap, detect_every=args.detect_every)
                syncer = LipSyncer(options=options, generator=generator)
                bare = bare_generator_ms(syncer.generator, args.batch_size, syncer.precision)
                syncer.sync(warm_clip, warm_speech, Path(args.work) / "warm.mp4")  # first-run costs, not timed
                report = syncer.sync(clip, speech, Path(args.work) / f"out_w{width:g}_{asked}.mp4")
                fps = report.frames / report.seconds
                baseline = fps if baseline is None else baseline
                wall, cpu = report.ms_per_frame, report.cpu_ms_per_frame
                cells = [f"{wall.get(k, 0.0):.1f} / {cpu.get(k, 0.0):.1f}" for k in STAGES]
                print(f"| {width:g} | {report.precision} | {'on' if overlap else 'off'} | {fps:.1f} | "
                      f"{fps / baseline:.2f}x | {bare:.1f} | {' | '.join(cells)} | "
                      f"{wall['total']:.1f} / {cpu['total']:.1f} |", flush=True)
                record.add("ms_per_frame", width=width, precision=report.precision, overlap=overlap, fps=fps,
                           speedup=fps / baseline, bare_generator=bare, box=args.box, detect_every=args.detect_every,
                           wall=dict(wall), cpu=dict(cpu))


def describe_cpu() -> str:
    """The CPU and the flags that decide the precision paths (bf16, AMX, VNNI)."""
    from attnwav2lip.precision import NATIVE_BF16_FLAGS, cpu_flags, cpu_name

    flags = sorted(cpu_flags() & {*NATIVE_BF16_FLAGS, "amx_tile", "amx_int8", "avx512_vnni", "avx_vnni", "avx512f", "avx2"})
    return f"CPU {cpu_name()!r}; flags: {', '.join(flags) or 'none of avx2/avx512/bf16/AMX/VNNI'}"


def detector_in_use(name: str) -> str:
    """The detector ``name`` resolves to here ("auto" falls back to OpenCV's Haar cascade without mediapipe)."""
    from attnwav2lip.faces.factory import DetectorConfig

    with DetectorConfig(name=name).create() as detector:
        return f"{name} = {type(detector).__name__}"


def memory(args: argparse.Namespace, record: Record) -> None:
    detection = f"fixed box {BOX} (no detection pass)" if args.box else f"detector {detector_in_use(args.detector)}"
    print(f"peak RSS of a whole `sync` process, 720p @ {FPS} fps, width {args.width}, batch {args.batch_size}, "
          f"preset {args.preset}, torch threads {args.threads}, overlap {'off' if args.no_overlap else 'on'}, "
          f"{detection}")
    print("| input length | frames | peak RSS MB | growth over the first MB | wall s |")
    print("|---|---|---|---|---|")
    first = None
    for seconds in args.lengths:
        clip, speech = make_inputs(seconds, Path(args.work))
        code = (
            "import torch, resource, sys\n"
            f"torch.set_num_threads({args.threads})\n"
            "from attnwav2lip.lipsync import LipSyncer, SyncOptions\n"
            "from attnwav2lip.models import Generator, GeneratorConfig\n"
            f"g = Generator(GeneratorConfig(width={args.width})).eval()\n"
            f"o = SyncOptions(batch_size={args.batch_size}, preset={args.preset!r}, detection_cache=False, progress=False,"
            f" detector={args.detector!r}, device='cpu', box={BOX if args.box else None}, overlap={not args.no_overlap})\n"
            f"r = LipSyncer(options=o, generator=g).sync({str(clip)!r}, {str(speech)!r}, {str(Path(args.work) / 'mem.mp4')!r})\n"
            "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]\n"
            "print(r.frames, int(hwm) // 1024, round(r.seconds, 1))\n"
        )
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ)
        if done.returncode:
            raise SystemExit(done.stderr[-2000:])
        frames, peak, wall = done.stdout.split()[-3:]
        first = int(peak) if first is None else first
        print(f"| {seconds:g} s | {frames} | {peak} | {int(peak) - first:+d} | {wall} |", flush=True)
        record.add("peak_rss", seconds=seconds, frames=int(frames), peak_rss_mb=int(peak),
                   growth_mb=int(peak) - first, wall_s=float(wall), box=args.box, overlap=not args.no_overlap)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", nargs="?", default="speed", choices=("speed", "memory"), help="default speed")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--widths", type=float, nargs="+", default=[1.0])
    parser.add_argument("--precisions", nargs="+", default=["fp32", "auto"], choices=("auto", "fp32", "bf16"),
                        help="speed: each width runs in each (default fp32 auto)")
    parser.add_argument("--lengths", type=float, nargs="+", default=[30.0, 180.0])
    parser.add_argument("--width", type=float, default=0.125)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--preset", default="veryfast")
    parser.add_argument("--detector", default="auto")
    parser.add_argument("--detect-every", type=int, default=1, help="speed: detect every K-th frame (--detect-every)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--work", default="/tmp/attnwav2lip-bench")
    parser.add_argument("--box", action="store_true", help=f"a fixed face box {BOX}: no detection pass")
    parser.add_argument("--no-overlap", action="store_true", help="memory: stages in one thread")
    add_json_argument(parser)
    args = parser.parse_args()
    record = Record(f"{__file__[:-3]}_{args.mode}", args)
    (speed if args.mode == "speed" else memory)(args, record)
    record.save()


if __name__ == "__main__":
    main()
