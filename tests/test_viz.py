"""Attention figure, mouth attention share and the attention-maps command."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from attnwav2lip.errors import ConfigError
from attnwav2lip.viz import CROP, HEADER, TILE_SCALE, mouth_attention_share, render_attention_figure


def test_share_of_a_hand_made_map() -> None:
    # 12x12 map: each cell covers 8x8 crop pixels. Weight 3 on the 2x2 cells [6:8, 3:5], 1 elsewhere.
    m = np.ones((1, 12, 12), np.float32)
    m[0, 6:8, 3:5] = 3.0
    box = (24, 48, 40, 64)  # exactly those four cells
    shares = mouth_attention_share({"encoder.3": m, "uniform": np.ones((2, 1, 96, 96))}, box)
    total = 140 * 64 + 4 * 3 * 64
    assert shares["encoder.3"][0] == pytest.approx(4 * 3 * 64 / total)
    assert shares["encoder.3"][1] == pytest.approx(16 * 16 / CROP**2)
    assert shares["uniform"][0] == pytest.approx(shares["uniform"][1])


def test_share_counts_partly_covered_cells_by_area() -> None:
    m = np.zeros((1, 3, 3), np.float32)
    m[0, 0, 0] = 1.0  # all weight in the top-left 32x32 cell
    (share, area), = mouth_attention_share({"coarse": m}, (16, 0, 48, 32)).values()
    assert share == pytest.approx(0.5)  # the box covers half of that cell
    assert area == pytest.approx(32 * 32 / CROP**2)


@pytest.mark.parametrize("box", [(10, 10, 10, 20), (0, 0, 97, 20), (-1, 0, 5, 5)])
def test_bad_mouth_box_is_a_user_error(box: tuple[int, int, int, int]) -> None:
    with pytest.raises(ConfigError):
        mouth_attention_share({"m": np.ones((1, 12, 12))}, box)


def test_render_omits_small_maps() -> None:
    faces = np.zeros((2, CROP, CROP, 3), np.uint8)
    rng = np.random.default_rng(0)
    maps = {f"encoder.{i}": rng.random((2, s, s)).astype(np.float32) for i, s in enumerate((96, 48, 24, 12, 6, 3, 1))}
    sheet = render_attention_figure(faces, maps)
    tile = CROP * TILE_SCALE
    assert sheet.dtype == np.uint8
    assert sheet.shape == (HEADER + 2 * tile, (1 + 4) * tile, 3)
    assert sheet[HEADER:, tile:].std() > 0  # the overlays carry colour


# --- with the real generator (tiny width) -------------------------------------------------------

WIDTH = 0.125


@pytest.fixture(scope="module")
def astronaut_rgb() -> np.ndarray:
    from skimage.data import astronaut

    return astronaut()


@pytest.fixture(scope="module")
def face_crops(astronaut_rgb: np.ndarray) -> np.ndarray:
    import cv2

    face = cv2.resize(astronaut_rgb[70:185, 178:273], (CROP, CROP), interpolation=cv2.INTER_AREA)
    return np.stack([face, face[:, ::-1]])


def test_attention_figure_shape_and_min_size(face_crops: np.ndarray) -> None:
    from attnwav2lip.models import Generator
    from attnwav2lip.viz import attention_figure

    generator = Generator(width=WIDTH, attention="spatial")
    tile = CROP * TILE_SCALE
    figure = attention_figure(generator, face_crops)
    # maps >= 12x12: encoder 0-3 (96, 48, 24, 12) and decoder 3-6 (12, 24, 48, 96), plus the face column
    assert figure.shape == (HEADER + 2 * tile, 9 * tile, 3) and figure.dtype == np.uint8
    assert attention_figure(generator, face_crops, min_size=48).shape[1] == 5 * tile


def test_no_mels_means_silence(face_crops: np.ndarray) -> None:
    from attnwav2lip.audio import SILENCE
    from attnwav2lip.models import Generator
    from attnwav2lip.viz import spatial_maps

    generator = Generator(width=WIDTH, attention="both")
    silent = np.full((2, 1, 80, 16), SILENCE, np.float32)
    noisy = np.random.default_rng(0).uniform(-4, 4, (2, 1, 80, 16)).astype(np.float32)
    default = spatial_maps(generator, face_crops)
    np.testing.assert_array_equal(default["decoder.6"], spatial_maps(generator, face_crops, silent)["decoder.6"])
    assert not np.array_equal(default["decoder.6"], spatial_maps(generator, face_crops, noisy)["decoder.6"])
    assert set(default) == {f"{p}.{i}" for p in ("encoder", "decoder") for i in range(7)}


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from attnwav2lip import cli

    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, astronaut_rgb: np.ndarray) -> dict[str, Path]:
    import cv2

    from attnwav2lip.checkpoints import save_model
    from attnwav2lip.models import Generator

    folder = tmp_path_factory.mktemp("attention")
    paths = {"image": folder / "astronaut.png"}
    cv2.imwrite(str(paths["image"]), cv2.cvtColor(astronaut_rgb, cv2.COLOR_RGB2BGR))
    for attention in ("both", "none", "channel"):
        paths[attention] = folder / f"g_{attention}.safetensors"
        save_model(Generator(width=WIDTH, attention=attention), paths[attention])
    return paths


def test_cli_end_to_end_on_a_photo(files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import cv2

    out = tmp_path / "maps.png"
    argv = ["attention-maps", "--checkpoint", str(files["both"]), "--face", str(files["image"]), "-o", str(out)]
    code, stdout, _ = _cli([*argv, "--mouth-box", "20", "50", "76", "82"], capsys)
    assert code == 0
    figure = cv2.imread(str(out))
    assert figure.shape == (HEADER + CROP * TILE_SCALE, 9 * CROP * TILE_SCALE, 3)
    rows = [line.split() for line in stdout.splitlines() if line.startswith(("encoder.", "decoder."))]
    assert [r[0] for r in rows] == ["encoder.0", "encoder.1", "encoder.2", "encoder.3",
                                    "decoder.3", "decoder.4", "decoder.5", "decoder.6"]
    assert all(float(r[2]) == pytest.approx(56 * 32 / CROP**2, abs=1e-3) for r in rows)
    assert all(0 < float(r[1]) < 1 for r in rows)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["maps.png"]  # no temporary left behind


@pytest.mark.parametrize("attention", ["none", "channel"])
def test_cli_without_spatial_attention_is_a_user_error(
    attention: str, files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "maps.png"
    argv = ["attention-maps", "--checkpoint", str(files[attention]), "--face", str(files["image"]), "-o", str(out)]
    code, _, err = _cli(argv, capsys)
    assert code == 2
    assert "spatial attention" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


@pytest.fixture(scope="module")
def talking_video(tmp_path_factory: pytest.TempPathFactory, astronaut_rgb: np.ndarray) -> Path:
    """10 frames at 25 fps of the astronaut drifting sideways, with a 220 Hz tone."""
    import cv2

    from attnwav2lip.video import write_video

    small = cv2.resize(astronaut_rgb, (256, 256), interpolation=cv2.INTER_AREA)
    frames = [np.roll(small, shift, axis=1) for shift in range(10)]
    t = np.arange(16000 * 10 // 25) / 16000
    video = tmp_path_factory.mktemp("video") / "talk.mp4"
    write_video(video, frames, 25, (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32))
    return video


def test_video_rows_use_evenly_spaced_frames_and_their_audio(files: dict[str, Path], talking_video: Path) -> None:
    from attnwav2lip.viz import attention_report

    report = attention_report(files["both"], talking_video, frames=3)
    assert report.frames == (0, 4, 9)  # round(linspace(0, 9, 3)) = 0, 4.5 -> 4 (even), 9
    assert report.audio == str(talking_video)
    assert report.figure.shape[0] == HEADER + 3 * CROP * TILE_SCALE


def test_image_with_speech_repeats_the_face_over_windows(files: dict[str, Path], talking_video: Path) -> None:
    from attnwav2lip.viz import attention_report

    report = attention_report(files["both"], files["image"], audio=talking_video, frames=2)
    assert report.frames == (0, 0) and report.audio == str(talking_video)
    assert report.figure.shape[0] == HEADER + 2 * CROP * TILE_SCALE
