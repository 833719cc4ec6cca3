"""End-to-end `sync` speed per stage, against the bare generator, and peak memory vs input length.

    # per-stage table at width 1.0 and a narrow width on a 30 s 720p clip:
    MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=100000000000 MALLOC_TOP_PAD_=1073741824 \
        .venv/bin/python benchmarks/bench_sync.py speed --seconds 30 --widths 1.0 0.25 --precisions fp32 auto
    # peak RSS of whole runs (fresh processes) for inputs of several lengths:
    .venv/bin/python benchmarks/bench_sync.py memory --lengths 6 60 --width 0.125

Inputs are synthetic: a real face photo (scikit-image's astronaut) drifting over a 1280x720
background, with modulated noise as speech; they are made once under --work. Settings printed
with every table: model width, batch size, x264 preset, torch threads, detector.
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
    print(describe_cpu())
    print(f"clip {args.seconds:g} s 720p @ {FPS} fps; batch {args.batch_size}; x264 preset {args.preset}; "
          f"torch threads {args.threads}; detector {detector_in_use(args.detector)} "
          f"(detect side {SyncOptions().detect_max_side})")
    print("per-stage ms per output frame as wall / CPU (CPU = all threads of the process; on a shared")
    print("machine wall time includes waiting for a core, CPU time does not)")
    header = ("| width | precision | end-to-end fps | bare G ms/frame | decode | detect | generate | blend | encode "
              "| non-G (decode+detect+blend+encode) | total |")
    print(header)
    print("|---" * (header.count("|") - 1) + "|")
    for width in args.widths:
        for asked in args.precisions:
            options = SyncOptions(batch_size=args.batch_size, preset=args.preset, detection_cache=False,
                                  progress=False, detector=args.detector, device="cpu", precision=asked)
            syncer = LipSyncer(options=options, generator=Generator(GeneratorConfig(width=width)).eval())
            bare = bare_generator_ms(syncer.generator, args.batch_size, syncer.precision)
            out = Path(args.work) / f"out_w{width:g}_{asked}.mp4"
            report = syncer.sync(clip, speech, out)
            wall, cpu = report.ms_per_frame, report.cpu_ms_per_frame
            cells = [f"{wall.get(k, 0.0):.1f} / {cpu.get(k, 0.0):.1f}" for k in ("decode", "detect", "generate", "blend", "encode")]
            stages = ("decode", "detect", "blend", "encode")
            non_g = f"{sum(wall.get(k, 0.0) for k in stages):.1f} / {sum(cpu.get(k, 0.0) for k in stages):.1f}"
            print(f"| {width:g} | {report.precision} | {report.frames / report.seconds:.1f} | {bare:.1f} | "
                  f"{' | '.join(cells)} | {non_g} | {wall['total']:.1f} / {cpu['total']:.1f} |", flush=True)
            record.add("ms_per_frame", width=width, precision=report.precision, fps=report.frames / report.seconds,
                       bare_generator=bare, wall=dict(wall), cpu=dict(cpu))


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
    detection = "fixed box (no detection pass)" if args.fixed_box else f"detector {detector_in_use(args.detector)}"
    print(f"peak RSS of a whole `sync` process, 720p @ {FPS} fps, width {args.width}, batch {args.batch_size}, "
          f"preset {args.preset}, torch threads {args.threads}, {detection}")
    print("| input length | frames | peak RSS MB | wall s |")
    print("|---|---|---|---|")
    for seconds in args.lengths:
        clip, speech = make_inputs(seconds, Path(args.work))
        code = (
            "import torch, resource, sys\n"
            f"torch.set_num_threads({args.threads})\n"
            "from attnwav2lip.lipsync import LipSyncer, SyncOptions\n"
            "from attnwav2lip.models import Generator, GeneratorConfig\n"
            f"g = Generator(GeneratorConfig(width={args.width})).eval()\n"
            f"o = SyncOptions(batch_size={args.batch_size}, preset={args.preset!r}, detection_cache=False, progress=False,"
            f" detector={args.detector!r}, device='cpu', box={(200, 500, 490, 790) if args.fixed_box else None})\n"
            f"r = LipSyncer(options=o, generator=g).sync({str(clip)!r}, {str(speech)!r}, {str(Path(args.work) / 'mem.mp4')!r})\n"
            "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]\n"
            "print(r.frames, int(hwm) // 1024, round(r.seconds, 1))\n"
        )
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ)
        if done.returncode:
            raise SystemExit(done.stderr[-2000:])
        frames, peak, wall = done.stdout.split()[-3:]
        print(f"| {seconds:g} s | {frames} | {peak} | {wall} |", flush=True)
        record.add("peak_rss", seconds=seconds, frames=int(frames), peak_rss_mb=int(peak), wall_s=float(wall))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", nargs="?", default="speed", choices=("speed", "memory"), help="default speed")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--widths", type=float, nargs="+", default=[1.0, 0.25])
    parser.add_argument("--precisions", nargs="+", default=["fp32", "auto"], choices=("auto", "fp32", "bf16"),
                        help="speed: each width runs in each (default fp32 auto)")
    parser.add_argument("--lengths", type=float, nargs="+", default=[6.0, 60.0])
    parser.add_argument("--width", type=float, default=0.125)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--preset", default="veryfast")
    parser.add_argument("--detector", default="auto")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--work", default="/tmp/attnwav2lip-bench")
    parser.add_argument("--fixed-box", action="store_true", help="memory: skip detection (--box), for long inputs")
    add_json_argument(parser)
    args = parser.parse_args()
    record = Record(f"{__file__[:-3]}_{args.mode}", args)
    (speed if args.mode == "speed" else memory)(args, record)
    record.save()


if __name__ == "__main__":
    main()
