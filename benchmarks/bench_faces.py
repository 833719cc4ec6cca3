"""Face detection speed per detector and frame size, boxes on the two real photos, helper costs.

Run:  MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=100000000000 \
      MALLOC_TOP_PAD_=1073741824 .venv/bin/python benchmarks/bench_faces.py [--quick]

S3FD runs with random weights (its cost does not depend on the values) at ``max_side`` 640.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from attnwav2lip.faces import (
    BoxAdjust,
    content_digest,
    create_detector,
    crop_face,
    iou_matrix,
    paste_face,
    scene_cuts,
)
from attnwav2lip.faces.geometry import _OVAL

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


def time_ms(fn, repeats: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000.0 * float(np.median(times))


def random_s3fd_weights(folder: Path) -> str:
    import torch

    from attnwav2lip.faces.s3fd import S3FDNet

    path = folder / "s3fd_random.pth"
    torch.save(S3FDNet().state_dict(), path)
    return str(path)


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
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

    print("\n== detection, ms per frame (median; frames downscaled to max_side 640 unless noted) ==")
    with tempfile.TemporaryDirectory() as tmp:
        setups = [
            ("mediapipe full+tiles", "mediapipe", {"model": "full"}),
            ("mediapipe full, no tiles", "mediapipe", {"model": "full", "tiles": False}),
            ("mediapipe short+tiles", "mediapipe", {"model": "short"}),
            ("mediapipe full+tiles+mesh", "mediapipe", {"model": "full", "landmarks": True}),
            ("haar", "haar", {}),
            ("s3fd (random weights)", "s3fd", {"weights": random_s3fd_weights(Path(tmp)), "batch_size": 1}),
        ]
        for label, name, options in setups:
            row = []
            with create_detector(name, **options) as detector:
                for size, (height, width) in SIZES.items():
                    frame = canvas(images["astronaut"], height, width)
                    n = 2 if name == "s3fd" else repeats
                    ms = time_ms(lambda: detector.detect(frame[None]), n, warmup=1 if name == "s3fd" else 2)
                    faces = len(detector.detect(frame[None])[0])
                    row.append(f"{size} {ms:8.1f} ms ({faces} face{'s' if faces != 1 else ''})")
            print(f"  {label:27s} " + " | ".join(row))

    print("\n== helpers ==")
    frame = canvas(images["astronaut"], 1080, 1920)
    box = np.array([760, 150, 1150, 620], np.float32)
    face = crop_face(frame, box)
    print(f"  crop_face 1080p -> 96x96          {time_ms(lambda: crop_face(frame, box), repeats * 5):7.2f} ms")
    print(f"  paste_face 1080p, 390x470 box     {time_ms(lambda: paste_face(frame, face, box), repeats * 5):7.2f} ms")
    paste_cm = time_ms(lambda: paste_face(frame, face, box, colour_match=True), repeats * 5)
    print(f"  paste_face + colour match         {paste_cm:7.2f} ms")
    frames = [frame] * 20
    print(f"  scene-cut histogram per 1080p frame {time_ms(lambda: scene_cuts(frames), 3) / 20:5.2f} ms")
    with tempfile.NamedTemporaryFile() as fh:
        fh.write(np.random.default_rng(0).bytes(256 << 20))
        fh.flush()
        seconds = time_ms(lambda: content_digest(fh.name), 3, warmup=1) / 1000
        print(f"  content_digest (cache key)        {256 / seconds:7.0f} MB/s")


if __name__ == "__main__":
    main()
