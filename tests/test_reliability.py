"""Bad inputs a new user gives: nothing lost, nothing silently wrong, one line and exit 2 (issue 22).

Tiny media throughout: 64 x 64 clips, a fraction of a second of sound, a width-0.0625 generator.
"""

from __future__ import annotations

import errno
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from attnwav2lip import audio, fileio
from attnwav2lip.cli import main
from attnwav2lip.errors import AttnWav2LipError, ConfigError, MediaError
from attnwav2lip.audio import silent_windows
from attnwav2lip.lipsync import LipSyncer, SyncOptions
from attnwav2lip.video import iter_frames, probe, write_video
from media_files import write_wav

BOX = ("--box", "8", "56", "8", "56")
FAST = dict(progress=False, detection_cache=False, batch_size=8)
SRC = str(Path(__file__).resolve().parents[1] / "src")


def _tone(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * 16000)) / 16000
    return (0.3 * np.sin(2 * np.pi * 180 * t)).astype(np.float32)


def _generator():
    import torch

    from attnwav2lip.models import Generator, GeneratorConfig

    torch.manual_seed(0)
    return Generator(GeneratorConfig(width=0.0625)).eval()


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 4-frame 64 x 64 face clip, 0.3 s of speech, and the generator saved as a checkpoint."""
    from attnwav2lip.checkpoints import save_model

    root = tmp_path_factory.mktemp("reliability")
    save_model(_generator(), root / "gen.safetensors")
    write_video(root / "face.mp4", [np.full((64, 64, 3), 100 + 10 * i, np.uint8) for i in range(4)], 25)
    return {"root": root, "face": root / "face.mp4", "speech": write_wav(root / "speech.wav", _tone(0.3)),
            "gen": root / "gen.safetensors"}


def _sync(media: dict[str, Path], out: Path, *args: str, face: Path | None = None, speech: Path | None = None) -> int:
    return main(["sync", "--checkpoint", str(media["gen"]), "--quiet", "--no-cache", *BOX,
                 "--face", str(face or media["face"]), "--audio", str(speech or media["speech"]), "-o", str(out), *args])


def _one_line_error(capsys: pytest.CaptureFixture[str], pattern: str) -> str:
    import re

    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "error:" in line]
    assert len(lines) == 1 and re.search(pattern, lines[0]) and "Traceback" not in err, err
    return lines[0]


# --- 1, 11: outputs checked before any work --------------------------------------------------------

def test_an_output_that_is_an_input_is_refused(tmp_path: Path, media: dict[str, Path],
                                               capsys: pytest.CaptureFixture[str]) -> None:
    face, speech = tmp_path / "face.mp4", tmp_path / "speech.wav"
    face.write_bytes(media["face"].read_bytes())
    speech.write_bytes(media["speech"].read_bytes())
    (tmp_path / "link.mp4").symlink_to(face)
    os.link(speech, tmp_path / "hard.wav")
    before = {p: p.read_bytes() for p in (face, speech)}
    for out in (face, speech, tmp_path / "link.mp4", tmp_path / "hard.wav", tmp_path / "sub" / ".." / "face.mp4"):
        (tmp_path / "sub").mkdir(exist_ok=True)
        assert _sync(media, out, face=face, speech=speech) == 2
        _one_line_error(capsys, "is also an input")
    assert {p: p.read_bytes() for p in (face, speech)} == before


def test_an_output_folder_is_refused_before_any_work(tmp_path: Path, media: dict[str, Path],
                                                     capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from attnwav2lip.lipsync import pipeline

    monkeypatch.setattr(pipeline, "FaceSource", None)  # any work at all would fail differently
    assert _sync(media, tmp_path) == 2
    _one_line_error(capsys, "is a folder")


def test_other_commands_refuse_an_input_as_output_before_any_work(tmp_path: Path, media: dict[str, Path],
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    gen = media["gen"]
    before = gen.read_bytes()
    assert main(["export", "--checkpoint", str(gen), "-o", str(gen)]) == 2
    _one_line_error(capsys, "is also an input")
    assert main(["export", "--checkpoint", str(gen), "-o", str(tmp_path / "g.pt")]) == 2
    _one_line_error(capsys, r"cannot write '\.pt' files; use \.onnx")
    assert main(["attention-maps", "--checkpoint", str(gen), "--face", str(media["face"]), "-o", str(tmp_path)]) == 2
    _one_line_error(capsys, "is a folder")
    assert gen.read_bytes() == before and list(tmp_path.iterdir()) == []


# --- 2, 12: signals, stale temporaries, unwritable places -------------------------------------------

def test_stale_temporaries_of_dead_writers_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = fileio._host()
    names = {
        "dead": f".out.{host}-{dead.pid}-0a1b2c3d.tmp.mp4",
        "live": f".out.{host}-{os.getpid()}-0a1b2c3d.tmp.mp4",
        "other host": f".out.elsewhere-{dead.pid}-0a1b2c3d.tmp.mp4",
        "other target": f".other.{host}-{dead.pid}-0a1b2c3d.tmp.mp4",
    }
    for name in names.values():
        (tmp_path / name).write_bytes(b"partial")
    with fileio.atomic_path(tmp_path / "out.mp4") as tmp:
        assert f"{host}-{os.getpid()}-" in tmp.name  # our own temporary is recognisable too
        tmp.write_bytes(b"whole")
    left = {p.name for p in tmp_path.iterdir()}
    assert names["dead"] not in left
    assert {names["live"], names["other host"], names["other target"], "out.mp4"} <= left


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_stop_like_ctrl_c_and_leave_nothing(tmp_path: Path, media: dict[str, Path],
                                                              signum: int) -> None:
    # 5 minutes of speech: the run must still be writing when the signal comes, on a loaded machine too
    # (with 1 minute a stalled test process once saw the whole run finish between its checks)
    long_speech = write_wav(tmp_path / "long.wav", _tone(300.0))
    out = tmp_path / "out.mp4"
    env = {**os.environ, "PYTHONPATH": SRC, "ATTNWAV2LIP_NATIVE_BF16": "0", "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "attnwav2lip", "sync", "--checkpoint", str(media["gen"]), "--quiet", *BOX,
         "--face", str(media["face"]), "--audio", str(long_speech), "-o", str(out)],
        env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not list(tmp_path.glob(".out.*.tmp.mp4")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert proc.poll() is None, "the run ended before it could be stopped"
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 128 + signum, err
    assert f"interrupted ({signal.Signals(signum).name})" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.wav"]


def test_a_full_disk_or_refused_temporary_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(AttnWav2LipError, match=r"^cannot write .*x\.bin: No space left on device$"):
        with fileio.atomic_path(tmp_path / "x.bin"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def refuse(*args: object, **kwargs: object) -> int:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(fileio.os, "open", refuse)
    with pytest.raises(AttnWav2LipError, match=r"^cannot write .*y\.bin: Read-only file system$"):
        fileio.write_text_atomic(tmp_path / "y.bin", "text")
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


# --- 3: rotation metadata --------------------------------------------------------------------------

def _rotated_clip(path: Path, rotation: int, frames: int = 3) -> Path:
    """A 64 x 32 (w x h) clip whose left quarter is white, stored with a display rotation."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 32, "yuv420p"
        stream.set_display_rotation(rotation)
        for i in range(frames):
            image = np.zeros((32, 64, 3), np.uint8)
            image[:, :16] = 255
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def test_rotation_metadata_is_applied_by_every_reader(tmp_path: Path) -> None:
    """A phone's portrait clip (rotation -90: turn clockwise to show) reads upright everywhere:
    probe, iter_frames (sync, preprocess, evaluate all read through it), scaled reads included."""
    clip = _rotated_clip(tmp_path / "phone.mp4", -90)
    info = probe(clip)
    assert (info.width, info.height) == (32, 64)
    frame = next(iter_frames(clip))
    assert frame.shape == (64, 32, 3)
    assert frame[:12].mean() > 200 and frame[20:].mean() < 30  # the white left edge is now on top
    assert next(iter_frames(clip, scale=(16, 32))).shape == (32, 16, 3)
    assert next(iter_frames(clip, scale=32)).shape == (32, 16, 3)
    upside_down = next(iter_frames(_rotated_clip(tmp_path / "flip.mp4", 180)))
    assert upside_down.shape == (32, 64, 3) and upside_down[:, -12:].mean() > 200


def test_sync_writes_a_rotated_clip_upright_and_rotate_adds_to_it(tmp_path: Path, media: dict[str, Path]) -> None:
    clip = _rotated_clip(tmp_path / "phone.mp4", -90)
    syncer = LipSyncer(options=SyncOptions(**FAST, box=(8, 56, 4, 28)), generator=_generator())
    syncer.sync(clip, media["speech"], tmp_path / "upright.mp4")
    assert (probe(tmp_path / "upright.mp4").width, probe(tmp_path / "upright.mp4").height) == (32, 64)
    syncer = LipSyncer(options=SyncOptions(**FAST, box=(4, 28, 8, 56), rotate=True), generator=_generator())
    syncer.sync(clip, media["speech"], tmp_path / "turned.mp4")  # metadata first, then --rotate's 90 degrees
    assert (probe(tmp_path / "turned.mp4").width, probe(tmp_path / "turned.mp4").height) == (64, 32)


# --- 4, 15: boxes, pads and face indices that select nothing ---------------------------------------

@pytest.mark.parametrize("box", [(56, 8, 8, 56), (8, 56, 56, 8), (8, 8, 8, 56)])
def test_a_box_in_the_wrong_order_or_without_area_is_refused(box: tuple[int, int, int, int]) -> None:
    with pytest.raises(ConfigError, match="needs TOP < BOTTOM and LEFT < RIGHT"):
        SyncOptions(box=box)


def test_a_box_outside_the_frame_is_refused_and_one_partly_outside_is_clipped_with_a_warning(
        tmp_path: Path, media: dict[str, Path], caplog: pytest.LogCaptureFixture) -> None:
    def run(box: tuple[int, int, int, int]) -> None:
        LipSyncer(options=SyncOptions(**FAST, box=box), generator=_generator()).sync(
            media["face"], media["speech"], tmp_path / "o.mp4")

    with pytest.raises(ConfigError, match=r"--box 100 200 100 200 leaves no face inside the 64x64 frame"):
        run((100, 200, 100, 200))
    assert not (tmp_path / "o.mp4").exists()
    with caplog.at_level(logging.WARNING, logger="attnwav2lip"):
        run((-10, 40, 8, 90))
    assert "reaches outside the 64x64 frame; using 0 40 8 64" in caplog.text


def test_pads_that_invert_the_box_are_refused(tmp_path: Path) -> None:
    import cv2
    import skimage.data

    face = cv2.resize(skimage.data.astronaut()[20:276, 100:356], (128, 128), interpolation=cv2.INTER_AREA)
    write_video(tmp_path / "face.mp4", [face] * 3, 25)
    speech = write_wav(tmp_path / "s.wav", _tone(0.1))
    syncer = LipSyncer(options=SyncOptions(**FAST, pads=(-1000, -1000, 0, 0)), generator=_generator())
    with pytest.raises(ConfigError, match=r"^--pads -1000 -1000 0 0 leave a box 0 px wide in frame 0"):
        syncer.sync(tmp_path / "face.mp4", speech, tmp_path / "o.mp4")


# --- 5: silence ------------------------------------------------------------------------------------

def test_a_silent_track_closes_every_window(tmp_path: Path, media: dict[str, Path]) -> None:
    for quiet in (np.zeros(8000, np.float32), 1e-4 * np.random.default_rng(0).standard_normal(8000)):
        mel = audio.melspectrogram(quiet.astype(np.float32))
        assert silent_windows(mel, audio.mel_window_starts(12, 25), 40.0).all()
    syncer = LipSyncer(options=SyncOptions(**FAST, box=(8, 56, 8, 56), close_on_silence=True), generator=_generator())
    report = syncer.sync(media["face"], write_wav(tmp_path / "silence.wav", np.zeros(4800)), tmp_path / "o.mp4")
    assert report.silent_frames == report.frames == 8


# --- 6, 7: truncated and variable-frame-rate input -------------------------------------------------

def test_a_truncated_video_or_wav_is_an_error_with_the_numbers(tmp_path: Path, media: dict[str, Path],
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    import av

    frames = [np.random.default_rng(i).integers(0, 255, (64, 64, 3), dtype=np.uint8) for i in range(40)]
    with av.open(str(tmp_path / "whole.mp4"), "w", options={"movflags": "faststart"}) as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for i, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    data = (tmp_path / "whole.mp4").read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 2])
    with pytest.raises(MediaError, match=r"cut\.mp4: truncated or corrupt: its header declares 40 frames, only \d+ decode"):
        list(iter_frames(tmp_path / "cut.mp4"))
    assert len(list(iter_frames(tmp_path / "whole.mp4"))) == 40

    whole = write_wav(tmp_path / "whole.wav", _tone(2.0)).read_bytes()
    (tmp_path / "cut.wav").write_bytes(whole[: 44 + 2 * int(0.68 * 16000)])
    with pytest.raises(MediaError, match=r"declares 2\.00 s of audio, only 0\.68 s decode"):
        audio.load_audio(tmp_path / "cut.wav")
    assert _sync(media, tmp_path / "o.mp4", speech=tmp_path / "cut.wav") == 2
    _one_line_error(capsys, "truncated")


def test_variable_frame_rate_is_reported_with_the_numbers(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import re
    from fractions import Fraction

    import av

    with av.open(str(tmp_path / "vfr.mp4"), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        for i, ms in enumerate([0, 40, 80, 120, 400, 440, 480, 520]):  # a 280 ms stall, as phones do in low light
            frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), 20 * i, np.uint8), format="rgb24")
            frame.pts, frame.time_base = ms, Fraction(1, 1000)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    with caplog.at_level(logging.WARNING, logger="attnwav2lip"):
        assert len(list(iter_frames(tmp_path / "vfr.mp4"))) == 8
    assert re.search(r"variable frame rate: frame [34] plays at 0\.\d+ s, but frames are taken at the average "
                     r"\d+\.\d+ fps, which shows it at 0\.\d+ s", caplog.text), caplog.text
    caplog.clear()
    write_video(tmp_path / "cfr.mp4", [np.zeros((32, 32, 3), np.uint8)] * 8, 30000 / 1001)
    with caplog.at_level(logging.WARNING, logger="attnwav2lip"):
        list(iter_frames(tmp_path / "cfr.mp4"))
    assert "variable" not in caplog.text


# --- 8: the output's suffix decides its container --------------------------------------------------

def test_the_output_suffix_is_the_container_written_or_refused(tmp_path: Path, media: dict[str, Path],
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    import av

    for suffix, format_name in ((".mkv", "matroska"), (".mov", "mov")):
        assert _sync(media, tmp_path / f"o{suffix}") == 0
        with av.open(str(tmp_path / f"o{suffix}")) as container:
            assert format_name in container.format.name.split(",")
    capsys.readouterr()
    for suffix in (".gif", ".avi", ""):
        assert _sync(media, tmp_path / f"x{suffix}") == 2
        _one_line_error(capsys, r"cannot write .*; use \.m4v, \.mkv, \.mov, \.mp4")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.mkv", "o.mov"]


# --- 9, 10: samples and rates the encoders cannot take ---------------------------------------------

def test_nan_and_inf_samples_are_written_as_silence_and_full_scale(tmp_path: Path, media: dict[str, Path]) -> None:
    import av

    samples = _tone(0.3)
    samples[100:200], samples[300], samples[400] = np.nan, np.inf, -np.inf
    with av.open(str(tmp_path / "nan.wav"), "w") as container:
        stream = container.add_stream("pcm_f32le", rate=16000, layout="mono")
        frame = av.AudioFrame.from_ndarray(samples[None, :], format="flt", layout="mono")
        frame.sample_rate = 16000
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    assert _sync(media, tmp_path / "o.mp4", speech=tmp_path / "nan.wav") == 0
    assert probe(tmp_path / "o.mp4").has_audio


@pytest.mark.parametrize("fps", ["inf", "nan", "1e6", "-5"])
def test_an_impossible_fps_is_one_line(tmp_path: Path, media: dict[str, Path], capsys: pytest.CaptureFixture[str],
                                       fps: str) -> None:
    assert _sync(media, tmp_path / "o.mp4", "--fps", fps) == 2
    _one_line_error(capsys, r"fps must be > 0 and <= 240")


def test_frames_times_pixels_are_checked_before_any_work(tmp_path: Path, media: dict[str, Path],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from attnwav2lip.lipsync import pipeline

    monkeypatch.setattr(pipeline, "MAX_OUTPUT_PIXELS", 64 * 64 * 5)
    syncer = LipSyncer(options=SyncOptions(**FAST, box=(8, 56, 8, 56)), generator=_generator())
    with pytest.raises(ConfigError, match=r"^8 frames of 64x64 at 25 fps is beyond what one run writes"):
        syncer.sync(media["face"], media["speech"], tmp_path / "o.mp4")
    assert list(tmp_path.iterdir()) == []


# --- 13, 16, 17, 22: synth and argument errors -----------------------------------------------------

def test_an_existing_file_as_an_output_folder_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    taken = tmp_path / "taken"
    taken.write_text("keep me")
    assert main(["synth", "--out", str(taken), "--clips", "1"]) == 2
    _one_line_error(capsys, "is an existing file; give a folder")
    assert main(["preprocess", "--videos", str(tmp_path), "--out", str(taken), "--quiet"]) == 2
    _one_line_error(capsys, "is an existing file")
    assert taken.read_text() == "keep me"


@pytest.mark.parametrize("args", [["sync", "--fps", "fast"], ["evaluate", "--vshift", "x", "--out", "o"],
                                  ["sync", "--bogus"]])
def test_bad_argument_types_are_one_line(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(args)
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and len(err.strip().splitlines()) == 1 and "usage" not in err, err


def test_text_without_words_is_nothing_to_speak(tmp_path: Path, media: dict[str, Path],
                                                capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("espeakng_loader")
    assert main(["sync", "--checkpoint", str(media["gen"]), "--quiet", *BOX, "--face", str(media["face"]),
                 "--text", "... !? --", "-o", str(tmp_path / "o.mp4")]) == 2
    _one_line_error(capsys, "nothing to speak")


def test_synth_clips_stay_within_max_seconds(tmp_path: Path) -> None:
    pytest.importorskip("espeakng_loader")
    from attnwav2lip.synth.corpus import CorpusConfig, _utterance, clip_paths, frames_for_samples, plan

    config = CorpusConfig(clips=8, seed=5, size=64, min_seconds=2.0, max_seconds=3.0)
    (tmp_path / "clips").mkdir()
    for spec in plan(config):
        utt = _utterance(spec, config, clip_paths(tmp_path, spec.id))
        assert frames_for_samples(len(utt.audio), config.fps) / config.fps <= config.max_seconds + 1e-9, spec.id


# --- 18, 19: what the terminal shows ---------------------------------------------------------------

def test_evaluation_failures_are_said_on_the_terminal(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from attnwav2lip.metrics.results import write_summary
    from attnwav2lip.metrics.scoring import VideoResult

    results = [VideoResult("a.mp4", 7.0, 5.0, 0, 10), VideoResult("b.mp4", 8.0, 4.0, 1, 10),
               VideoResult("c.mp4", error="c.mp4: no audio stream")]
    with caplog.at_level(logging.WARNING, logger="attnwav2lip"):
        write_summary(tmp_path, results, "SynthTalk evaluator", "LRS")
    assert "1 of 3 rows could not be scored" in caplog.text and "c.mp4: no audio stream" in caplog.text


@pytest.mark.slow
def test_mediapipe_start_up_chatter_is_hidden_and_real_errors_are_not(tmp_path: Path) -> None:
    pytest.importorskip("mediapipe")
    script = ("import numpy as np, os\n"
              "from attnwav2lip.faces.factory import DetectorConfig\n"
              "from attnwav2lip.native_stderr import without_native_chatter\n"
              "with DetectorConfig(name='mediapipe', landmarks=True).create() as d:\n"
              "    d.detect([np.zeros((96, 96, 3), np.uint8)] * 2)\n"
              "with without_native_chatter():\n"
              "    os.write(2, b'E0000 a real error from C\\n')\n")
    done = subprocess.run([sys.executable, "-c", script], env={**os.environ, "PYTHONPATH": SRC},
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and done.stderr == "E0000 a real error from C\n", done.stderr
