"""Face detection speed per detector and frame size, boxes on the two real photos, helper costs.

Run:  MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=100000000000 \
      MALLOC_TOP_PAD_=1073741824 .venv/bin/python benchmarks/bench_faces.py [--quick]

S3FD's network runs with random weights (its cost does not depend on the values) at the size
``max_side`` 640 gives it; its decoding cost depends on how many cells pass 0.05, which random
weights inflate, so it is printed apart.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings

import numpy as np

from attnwav2lip.faces import (
    BoxAdjust,
    Detections,
    content_digest,
    create_detector,
    crop_face,
    iou_matrix,
    paste_face,
    scene_cuts,
    track_faces,
)
from attnwav2lip.faces.geometry import _OVAL
from record import Record, add_json_argument

SIZES = {"256x256": (256, 256), "1280x720": (720, 1280), "1920x1080": (1080, 1920)}


def photos() -> dict[str, np.ndarray]:
    import matplotlib.cbook
    import skimage.data
    from PIL import Image

    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as fh:
        grace = np.asarray(Image.open(fh).convert("RGB"))
    return {"astronaut": skimage.data.astronaut(), "grace_hopper": grace}


def canvas(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """The photo scaled to the frame's height, centred on a grey frame (a talking-head layout)."""
    import cv2

    side = min(height, width)
    frame = np.full((height, width, 3), 90, np.uint8)
    x0 = (width - side) // 2
    frame[:side, x0 : x0 + side] = cv2.resize(image[: image.shape[1]], (side, side), interpolation=cv2.INTER_AREA)
    return frame


def wide_shot(image: np.ndarray) -> np.ndarray:
    """A 1280x720 frame with the photo at 256 px (a 46 px face): BlazeFace needs tiles for it."""
    import cv2

    frame = np.full((720, 1280, 3), 90, np.uint8)
    frame[100:356, 900:1156] = cv2.resize(image, (256, 256), interpolation=cv2.INTER_AREA)
    return frame


def time_ms(fn, repeats: int, warmup: int = 2) -> float:
    """Median wall-clock milliseconds of ``fn()``."""
    return timings(fn, repeats, warmup)[0]


def timings(fn, repeats: int, warmup: int = 2) -> tuple[float, float]:
    """Median wall-clock and median process-CPU milliseconds of ``fn()``.

    On a shared machine wall time includes waiting for a core; CPU time does not (it sums all
    of this process's threads, so it can exceed wall time when a library uses both cores).
    """
    for _ in range(warmup):
        fn()
    wall, cpu = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return 1000.0 * float(np.median(wall)), 1000.0 * float(np.median(cpu))


def oval_box(mesh: np.ndarray) -> np.ndarray:
    oval = mesh[list(_OVAL)]
    return np.array([oval[:, 0].min(), oval[:, 1].min(), oval[:, 0].max(), oval[:, 1].max()], np.float32)


def fit(native: np.ndarray, target: np.ndarray) -> BoxAdjust:
    """The BoxAdjust that maps ``native`` exactly onto ``target``."""
    w, h = native[2] - native[0], native[3] - native[1]
    return BoxAdjust(
        dx=float(((target[0] + target[2]) - (native[0] + native[2])) / 2 / w),
        dy=float(((target[1] + target[3]) - (native[1] + native[3])) / 2 / h),
        sw=float((target[2] - target[0]) / w),
        sh=float((target[3] - target[1]) / h),
    )


def bench_s3fd(record: Record) -> None:
    """S3FD's network cost (weight values do not matter) at what max_side 640 feeds it."""
    import torch

    from attnwav2lip.faces.s3fd import S3FDNet, postprocess, prepare

    net = S3FDNet().eval()
    default_threads = torch.get_num_threads()
    for threads in sorted({1, default_threads}):
        torch.set_num_threads(threads)
        for label, (height, width) in {"256x256": (256, 256), "640x360 (720p/1080p at max_side 640)": (360, 640)}.items():
            x = prepare(np.zeros((1, height, width, 3), np.uint8))
            with torch.inference_mode():
                wall, cpu = timings(lambda: net(x), 3, warmup=1)
                out = net(x)
            post = time_ms(lambda: postprocess(out), 2, warmup=1)
            print(f"  s3fd network, {threads} thread(s), {label}: {wall:6.0f} / {cpu:6.0f} ms; decoding + NMS of "
                  f"{len(postprocess(out)[0])} random-weight boxes {post:.0f} ms")  # fmt: skip
            record.add("s3fd_ms", threads=threads, input=label, wall=wall, cpu=cpu, decode_nms=post)
    torch.set_num_threads(default_threads)


def synthetic_detections(n: int) -> list[Detections]:
    """A drifting speaker face missed in 5% of frames, plus a random small face in 30%."""
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        boxes = [] if rng.random() < 0.05 else [[100 + i % 50, 100, 300 + i % 50, 300]]
        if rng.random() < 0.3:
            x, y = rng.uniform(0, 500, 2)
            boxes.append([x, y, x + 30, y + 30])
        out.append(Detections(np.array(boxes, np.float32).reshape(-1, 4), np.ones(len(boxes), np.float32)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    add_json_argument(parser)
    args = parser.parse_args()
    record = Record(__file__, args)
    warnings.filterwarnings("ignore")
    images = photos()
    repeats = 5 if args.quick else 20

    print("== boxes on the real photos (x1, y1, x2, y2); IoU with the mesh face-oval box ==")
    with create_detector("mediapipe", landmarks=True, max_side=None) as mesh_detector:
        ovals = {name: oval_box(mesh_detector.detect(img)[0].landmarks[0]) for name, img in images.items()}
    for name, box in ovals.items():
        print(f"  {name:13s} mesh face oval        {np.round(box, 1).tolist()}")
    for label, options in [("mediapipe full", {"model": "full"}), ("mediapipe short", {"model": "short"}), ("haar", {})]:
        name = "haar" if label == "haar" else "mediapipe"
        with create_detector(name, max_side=None, **options) as detector:
            adjust, detector.box_adjust = detector.box_adjust, BoxAdjust()
            for photo, img in images.items():
                found = detector.detect(img)[0]
                if not len(found):
                    print(f"  {photo:13s} {label:22s} no face")
                    continue
                native = found.boxes[0]
                box = adjust.apply(native)[0]
                iou = iou_matrix(box, ovals[photo])[0, 0]
                f = fit(native, ovals[photo])
                print(f"  {photo:13s} {label:22s} {np.round(box, 1).tolist()}  IoU {iou:.3f}  "
                      f"(native {np.round(native, 1).tolist()}, exact fit dx {f.dx:+.3f} dy {f.dy:+.3f} "
                      f"sw {f.sw:.3f} sh {f.sh:.3f})")  # fmt: skip
                record.add("boxes", photo=photo, detector=label, box=box.tolist(), iou=float(iou), native=native.tolist())

    print("\n== detection, ms per frame: wall / CPU (median; max_side 640; in brackets: faces found) ==")
    cases = {size: canvas(images["astronaut"], h, w) for size, (h, w) in SIZES.items()}
    cases["720p, 46 px face"] = wide_shot(images["astronaut"])
    setups = [
        ("mediapipe full (default)", "mediapipe", {"model": "full"}),
        ("mediapipe full, tiles always", "mediapipe", {"model": "full", "tiles": "always"}),
        ("mediapipe short", "mediapipe", {"model": "short"}),
        ("mediapipe full + mesh", "mediapipe", {"model": "full", "landmarks": True}),
        ("haar", "haar", {}),
    ]
    for label, name, options in setups:
        row = []
        with create_detector(name, **options) as detector:
            for size, frame in cases.items():
                wall, cpu = timings(lambda: detector.detect(frame[None]), repeats)
                faces = len(detector.detect(frame[None])[0])
                row.append(f"{size} {wall:6.1f} / {cpu:6.1f} ({faces})")
                record.add("detection_ms_per_frame", detector=label, frame=size, wall=wall, cpu=cpu, faces=faces)
        print(f"  {label:29s} " + " | ".join(row))
    bench_s3fd(record)

    print("\n== helpers ==")
    frame = canvas(images["astronaut"], 1080, 1920)
    box = np.array([760, 150, 1150, 620], np.float32)
    face = crop_face(frame, box)
    crop = time_ms(lambda: crop_face(frame, box), repeats * 5)
    paste = time_ms(lambda: paste_face(frame, face, box), repeats * 5)
    paste_cm = time_ms(lambda: paste_face(frame, face, box, colour_match=True), repeats * 5)
    print(f"  crop_face 1080p -> 96x96          {crop:7.2f} ms")
    print(f"  paste_face 1080p, 390x470 box     {paste:7.2f} ms")
    print(f"  paste_face + colour match         {paste_cm:7.2f} ms")
    frames = [frame] * 20
    scene = time_ms(lambda: scene_cuts(frames), 3) / 20
    print(f"  scene-cut histogram per 1080p frame {scene:5.2f} ms")
    detections = synthetic_detections(20_000)
    wall, cpu = timings(lambda: track_faces(detections, (720, 1280)), 1, warmup=0)
    print(f"  track_faces, 20,000 frames (1 face + 30% spurious) {wall / 1000:5.2f} s wall / {cpu / 1000:5.2f} s CPU")
    record.add("helpers_ms", crop_face_1080p=crop, paste_face_1080p=paste, paste_face_colour_match=paste_cm,
               scene_cut_per_frame=scene, track_faces_20000_frames_wall=wall, track_faces_20000_frames_cpu=cpu)
    with tempfile.NamedTemporaryFile() as fh:
        fh.write(np.random.default_rng(0).bytes(256 << 20))
        fh.flush()
        seconds = time_ms(lambda: content_digest(fh.name), 3, warmup=1) / 1000
        print(f"  content_digest (cache key)        {256 / seconds:7.0f} MB/s")
    record.add("content_digest", mb_per_s=256 / seconds)
    record.save()


if __name__ == "__main__":
    main()
