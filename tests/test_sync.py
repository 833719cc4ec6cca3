"""The streaming sync pipeline and its CLI, on small clips made here (tiny generator, 128 px frames)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from attnwav2lip import audio, cli
from attnwav2lip.cli import main
from attnwav2lip.errors import CheckpointError, ConfigError, NoFaceError
from attnwav2lip.audio import silent_windows
from attnwav2lip.lipsync import LipSyncer, SyncOptions
from attnwav2lip.looping import loop_schedule
from attnwav2lip.video import iter_frames, probe, write_video
from media_files import write_wav

BOX = (16, 112, 16, 112)  # top, bottom, left, right: a fixed face box on 128 x 128 frames
FAST = dict(progress=False, detection_cache=False, batch_size=8)


class SpyGenerator:
    """Builds a tiny Generator that records what the pipeline feeds it."""

    @staticmethod
    def make(mel_offset: int = 0):
        import torch

        from attnwav2lip.models import Generator, GeneratorConfig

        class Spy(Generator):
            def forward(self, mels: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
                self.seen.append((mels.clone(), faces.clone()))
                return super().forward(mels, faces)

        spy = Spy(GeneratorConfig(width=0.125, mel_offset=mel_offset))
        spy.seen = []
        return spy.eval()


@pytest.fixture(scope="module")
def face_image() -> np.ndarray:
    import cv2
    import skimage.data

    return cv2.resize(skimage.data.astronaut()[20:276, 100:356], (128, 128), interpolation=cv2.INTER_AREA)


def _speech(path: Path, seconds: float, rate: int = 16000, silent_until: float = 0.0) -> Path:
    """Broadband 'speech' (noise bursts with a pitch) that starts after ``silent_until`` seconds."""
    t = np.arange(int(seconds * rate)) / rate
    rng = np.random.default_rng(0)
    sound = 0.3 * np.sin(2 * np.pi * 180 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t)) + 0.05 * rng.standard_normal(t.size)
    return write_wav(path, (sound * (t >= silent_until)).astype(np.float32), rate)


def _video(path: Path, frames: list[np.ndarray], fps: float = 25) -> Path:
    write_video(path, frames, fps, crf=0)
    return path


def _brightness_video(path: Path, n: int) -> Path:
    """Frames whose brightness is 20 * index: the source index is readable from any frame."""
    return _video(path, [np.full((128, 128, 3), 20 * i + 10, np.uint8) for i in range(n)])


def test_loop_schedule() -> None:
    assert loop_schedule(9, 4).tolist() == [0, 1, 2, 3, 2, 1, 0, 1, 2]
    assert loop_schedule(9, 4, "forward").tolist() == [0, 1, 2, 3, 0, 1, 2, 3, 0]
    assert loop_schedule(3, 1).tolist() == [0, 0, 0]
    assert loop_schedule(3, 10).tolist() == [0, 1, 2]


def test_silent_windows() -> None:
    wav = np.zeros(16000 * 2, np.float32)
    wav[16000:] = 0.3 * np.random.default_rng(0).standard_normal(16000)
    mel = audio.melspectrogram(wav)
    silent = silent_windows(mel, audio.mel_window_starts(50, 25), 40.0)
    assert silent[:20].all() and not silent[26:].any()


@pytest.mark.parametrize(("field", "value"), [
    ("preset", "bogus"), ("crf", -1), ("crf", 52), ("batch_size", 0), ("resize_factor", 0),
    ("fps", 0.0), ("detect_max_side", 16), ("detect_every", 0), ("loop", "spiral"), ("face_index", -1), ("feather", -0.5),
    ("silence_db", 0.0), ("neutral_frame", -2),
])
def test_bad_options_name_the_field_and_value(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=rf"^{field} must .*got {value!r}$"):
        SyncOptions(**{field: value})


def test_a_foreign_generator_is_named_as_the_argument() -> None:
    class Fake:
        pass

    with pytest.raises(CheckpointError, match=r"^generator=: expected a torch Generator, got Fake$"):
        LipSyncer(options=SyncOptions(**FAST, device="cpu"), generator=Fake())


def test_a_checkpoint_and_a_generator_are_refused_together() -> None:
    with pytest.raises(ConfigError, match="not both"):
        LipSyncer("wav2lip.pth", options=SyncOptions(**FAST, device="cpu"), generator=SpyGenerator.make())


def test_video_and_audio_output(tmp_path: Path, face_image: np.ndarray) -> None:
    """Detection path: codecs, the audio's own rate, length following the audio, first sample at 0."""
    import av

    face = _video(tmp_path / "face.mp4", [np.roll(face_image, i % 3, axis=1) for i in range(12)])
    speech = _speech(tmp_path / "speech.wav", 1.3, rate=22050)
    out = tmp_path / "out.mp4"
    report = LipSyncer(options=SyncOptions(**FAST), generator=SpyGenerator.make()).sync(face, speech, out)
    expected = math.ceil(1.3 * 25)
    assert report.frames == expected and report.missing_face_frames == 0 and report.source_frames == 12
    info = probe(out)
    assert (info.num_frames, info.fps, info.audio_rate, info.width, info.height) == (expected, 25.0, 22050, 128, 128)
    assert abs(info.duration - 1.3) < 1 / 25
    with av.open(str(out)) as container:
        v, a = container.streams.video[0], container.streams.audio[0]
        assert (v.codec_context.name, v.codec_context.pix_fmt, a.codec_context.name) == ("h264", "yuv420p", "aac")
        assert abs(float(a.duration * a.time_base) - 1.3) < 1 / 25
    assert set(report.ms_per_frame) >= {"decode", "detect", "generate", "blend", "encode", "total"}
    assert list(tmp_path.glob(".*tmp*")) == []


@pytest.mark.parametrize("blend", ["feather", "none"])
def test_pixels_outside_the_mask_are_untouched(tmp_path: Path, face_image: np.ndarray, blend: str) -> None:
    from attnwav2lip.faces import lower_face_mask

    face = _video(tmp_path / "face.mp4", [face_image] * 4)
    speech = _speech(tmp_path / "s.wav", 0.4)
    pairs: list[tuple[np.ndarray, np.ndarray]] = []
    options = SyncOptions(**FAST, box=BOX, blend=blend)
    LipSyncer(options=options, generator=SpyGenerator.make()).sync(
        face, speech, tmp_path / "o.mp4", hook=lambda i, src, dst: pairs.append((src, dst)))
    assert len(pairs) == 10
    top, bottom, left, right = BOX
    inside = np.zeros((128, 128), bool)
    if blend == "feather":
        inside[top:bottom, left:right] = lower_face_mask(bottom - top, right - left, None, 0.1) > 0
    else:
        inside[top:bottom, left:right] = True
    for src, dst in pairs:
        np.testing.assert_array_equal(src[~inside], dst[~inside])
        assert np.any(src[inside] != dst[inside])


@pytest.mark.parametrize("loop", ["pingpong", "forward"])
def test_short_video_loops_without_jump(tmp_path: Path, loop: str) -> None:
    face = _brightness_video(tmp_path / "face.mp4", 5)
    speech = _speech(tmp_path / "s.wav", 0.6)  # 15 output frames from 5 source frames
    seen: dict[int, np.ndarray] = {}
    options = SyncOptions(**FAST, box=BOX, loop=loop)
    report = LipSyncer(options=options, generator=SpyGenerator.make()).sync(
        face, speech, tmp_path / "o.mp4", hook=lambda i, src, dst: seen.__setitem__(i, src))
    assert report.frames == 15
    order = [int(round((seen[i][0, 0, 0] - 10) / 20)) for i in range(15)]
    assert order == loop_schedule(15, 5, loop).tolist()
    first = {order[i]: seen[i] for i in range(5)}
    for i in range(5, 15):  # later sweeps come from the disk cache, bit-identical
        np.testing.assert_array_equal(seen[i], first[order[i]])


def test_loop_cache_lives_beside_the_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Not in /tmp, which may be a tmpfs (RAM): the output's folder has room for frames anyway."""
    import tempfile

    from attnwav2lip.lipsync import sources

    folders = []
    real = tempfile.TemporaryFile

    def recording(*args, **kwargs):
        folders.append(kwargs.get("dir"))
        return real(*args, **kwargs)

    monkeypatch.setattr(sources.tempfile, "TemporaryFile", recording)
    face = _brightness_video(tmp_path / "face.mp4", 5)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    LipSyncer(options=SyncOptions(**FAST, box=BOX), generator=SpyGenerator.make()).sync(
        face, _speech(tmp_path / "s.wav", 0.6), out_dir / "o.mp4")
    assert folders == [out_dir]
    assert sorted(p.name for p in out_dir.iterdir()) == ["o.mp4"]


def test_hook_frames_stay_writable_after_the_video_loops(tmp_path: Path) -> None:
    face = _brightness_video(tmp_path / "face.mp4", 3)
    writable: list[bool] = []
    LipSyncer(options=SyncOptions(**FAST, box=BOX), generator=SpyGenerator.make()).sync(
        face, _speech(tmp_path / "s.wav", 0.4), tmp_path / "o.mp4",
        hook=lambda i, src, dst: writable.append(src.flags.writeable))
    assert len(writable) == 10 and all(writable)  # frames 3.. come from the loop's disk cache


def test_overlap_writes_the_same_frames_as_one_thread(tmp_path: Path, face_image: np.ndarray) -> None:
    """fp32, same batch size, detection on every frame: the stages in threads change nothing written.

    The face moves, the video loops (frames from the disk cache), references come from other frames
    (anchors recorded as they stream by) and silent windows get the neutral one: all order-dependent.
    """
    face = _video(tmp_path / "face.mp4", [np.roll(face_image, 3 * (i % 10) - 15, axis=1) for i in range(40)])
    speech = _speech(tmp_path / "s.wav", 2.4, silent_until=0.5)  # 60 output frames from 40 source frames
    written, reports, infos = {}, {}, {}
    generator = SpyGenerator.make()  # one set of random weights for both
    for overlap in (False, True):
        pairs: list[tuple[int, np.ndarray, np.ndarray]] = []
        options = SyncOptions(**{**FAST, "batch_size": 4}, precision="fp32", reference="window",
                              close_on_silence=True, overlap=overlap)
        out = tmp_path / f"overlap_{overlap}.mp4"
        reports[overlap] = LipSyncer(options=options, generator=generator).sync(
            face, speech, out, hook=lambda i, src, dst: pairs.append((i, src.copy(), dst.copy())))
        written[overlap], infos[overlap] = pairs, probe(out)
    assert [i for i, _, _ in written[True]] == list(range(60))
    for (i, src, dst), (j, src_off, dst_off) in zip(written[True], written[False], strict=True):
        assert i == j and np.array_equal(src, src_off) and np.array_equal(dst, dst_off), f"frame {i} differs"
    assert reports[True].missing_face_frames == 0 and reports[True].silent_frames > 0
    assert [(r.frames, r.source_frames, r.silent_frames) for r in reports.values()] == [(60, 40, reports[False].silent_frames)] * 2
    assert infos[True] == infos[False] and (infos[True].num_frames, infos[True].width) == (60, 128)
    assert infos[True].audio_rate == 16000 and abs(infos[True].duration - 2.4) < 1 / 25


@pytest.mark.parametrize("overlap", [True, False])
def test_a_failing_hook_stops_every_thread_and_leaves_no_output(tmp_path: Path, face_image: np.ndarray,
                                                                 overlap: bool) -> None:
    import threading

    from attnwav2lip.lipsync.stages import THREAD_PREFIX

    class Refused(Exception):
        pass

    def hook(i: int, src: np.ndarray, dst: np.ndarray) -> None:
        if i == 5:
            raise Refused(f"frame {i}")

    face = _video(tmp_path / "face.mp4", [np.roll(face_image, i % 5, axis=1) for i in range(30)])
    out = tmp_path / "out" / "o.mp4"
    out.parent.mkdir()
    options = SyncOptions(**{**FAST, "batch_size": 2}, overlap=overlap)  # detection, then many small batches
    with pytest.raises(Refused, match="^frame 5$"):
        LipSyncer(options=options, generator=SpyGenerator.make()).sync(
            face, _speech(tmp_path / "s.wav", 1.2), out, hook=hook)
    assert [t.name for t in threading.enumerate() if t.name.startswith(THREAD_PREFIX)] == []
    assert list(out.parent.iterdir()) == []


def test_still_image_static_video_and_fps(tmp_path: Path, face_image: np.ndarray) -> None:
    import cv2

    still = tmp_path / "face.v2.final.png"  # dots in the name do not matter
    cv2.imwrite(str(still), face_image[..., ::-1])
    speech = _speech(tmp_path / "s.wav", 0.5)
    syncer = LipSyncer(options=SyncOptions(**FAST, fps=30), generator=SpyGenerator.make())
    report = syncer.sync(still, speech, tmp_path / "still.mp4")
    assert report.frames == 15 and report.source_frames == 1
    assert probe(tmp_path / "still.mp4").fps == 30.0

    video = _brightness_video(tmp_path / "v.mp4", 6)
    inputs: list[np.ndarray] = []
    static = LipSyncer(options=SyncOptions(**FAST, static=True, box=BOX), generator=SpyGenerator.make())
    report = static.sync(video, speech, tmp_path / "static.mp4", hook=lambda i, src, dst: inputs.append(src))
    assert report.frames == 13 and all(abs(int(f[0, 0, 0]) - 10) < 3 for f in inputs)


def test_frames_without_a_face_pass_through(tmp_path: Path, face_image: np.ndarray) -> None:
    blank = np.full_like(face_image, 128)
    face = _video(tmp_path / "face.mp4", [face_image] * 6 + [blank] * 4)
    speech = _speech(tmp_path / "s.wav", 0.4)
    pairs: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    syncer = LipSyncer(options=SyncOptions(**FAST), generator=SpyGenerator.make())
    report = syncer.sync(face, speech, tmp_path / "o.mp4", hook=lambda i, s, d: pairs.__setitem__(i, (s, d)))
    assert report.missing_face_frames == 4
    for i in range(6, 10):
        np.testing.assert_array_equal(*pairs[i])
    strict = LipSyncer(options=SyncOptions(**FAST, on_missing_face="error"), generator=SpyGenerator.make())
    with pytest.raises(NoFaceError, match="frame 6"):
        strict.sync(face, speech, tmp_path / "strict.mp4")
    assert not (tmp_path / "strict.mp4").exists()


def test_no_face_warning_is_logged_not_printed(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              caplog: pytest.LogCaptureFixture) -> None:
    face = _video(tmp_path / "blank.mp4", [np.full((64, 64, 3), 128, np.uint8)] * 3)
    report = LipSyncer(options=SyncOptions(**FAST, detector="haar"), generator=SpyGenerator.make()).sync(
        face, _speech(tmp_path / "s.wav", 0.12), tmp_path / "o.mp4")
    captured = capsys.readouterr()
    assert report.missing_face_frames == 3 and captured.out == ""
    assert any(r.levelname == "WARNING" and "no face found in" in r.getMessage() for r in caplog.records)


def test_mel_windows_follow_the_model_offset(tmp_path: Path) -> None:
    face = _brightness_video(tmp_path / "face.mp4", 10)
    speech = _speech(tmp_path / "s.wav", 0.4, silent_until=0.1)
    spy = SpyGenerator.make(mel_offset=-1)
    LipSyncer(options=SyncOptions(**FAST, box=BOX), generator=spy).sync(face, speech, tmp_path / "o.mp4")
    mels = np.concatenate([m[:, 0].numpy() for m, _ in spy.seen])
    expected = audio.mel_windows(audio.melspectrogram(audio.load_audio(speech)), 10, 25, offset=-1)
    np.testing.assert_allclose(mels, expected, atol=1e-6)


@pytest.mark.slow
def test_reference_modes_and_silence(tmp_path: Path, face_image: np.ndarray) -> None:
    frames = [np.roll(face_image, 2 * i, axis=0) for i in range(30)]  # the face moves: crops differ
    face = _video(tmp_path / "face.mp4", frames)
    speech = _speech(tmp_path / "s.wav", 1.2, silent_until=0.5)

    def references(**extra) -> tuple[np.ndarray, np.ndarray, object]:
        spy = SpyGenerator.make()
        report = LipSyncer(options=SyncOptions(**FAST, box=BOX, **extra), generator=spy).sync(
            face, speech, tmp_path / "o.mp4")
        faces = np.concatenate([f.numpy() for _, f in spy.seen])
        return faces[:, 3:], faces[:, :3], report

    refs, targets, _ = references(reference="frame")
    np.testing.assert_array_equal(refs[:, :, :48], targets[:, :, :48])  # the target itself
    assert np.all(targets[:, :, 48:] == 0)  # lower half masked
    refs, targets, _ = references(reference="neutral", neutral_frame=3)
    assert np.all(refs == refs[:1])
    np.testing.assert_array_equal(refs[0, :, :48], targets[3, :, :48])  # frame 3's face
    refs, targets, _ = references(reference="window")
    assert not any(np.array_equal(refs[i, :, :48], targets[i, :, :48]) for i in range(len(refs)))
    refs, targets, report = references(close_on_silence=True, neutral_frame=0)
    assert 6 <= report.silent_frames <= 9  # windows (0.2 s) that end before the sound starts at 0.5 s
    np.testing.assert_array_equal(refs[5], refs[0])  # silent frames: the neutral reference (frame 0)
    np.testing.assert_array_equal(refs[20, :, :48], targets[20, :, :48])  # sound: the frame itself


def test_neutral_frame_out_of_range_names_the_valid_range(tmp_path: Path) -> None:
    face = _brightness_video(tmp_path / "face.mp4", 4)
    options = SyncOptions(**FAST, box=BOX, reference="neutral", neutral_frame=4)
    with pytest.raises(ConfigError, match=r"--neutral-frame 4 is out of range .*valid frames are 0\.\.3$"):
        LipSyncer(options=options, generator=SpyGenerator.make()).sync(
            face, _speech(tmp_path / "s.wav", 0.4), tmp_path / "o.mp4")
    assert not (tmp_path / "o.mp4").exists()


def test_text_input(tmp_path: Path) -> None:
    pytest.importorskip("espeakng_loader")
    face = _brightness_video(tmp_path / "face.mp4", 4)
    report = LipSyncer(options=SyncOptions(**FAST, box=BOX), generator=SpyGenerator.make()).sync(
        face, None, tmp_path / "o.mp4", text="Hello there.")
    info = probe(tmp_path / "o.mp4")
    assert report.frames == info.num_frames > 10 and info.audio_rate == 16000


def test_frame_transforms_and_odd_sizes(tmp_path: Path) -> None:
    face = _video(tmp_path / "face.mp4", [np.full((96, 130, 3), 90, np.uint8)] * 3)
    speech = _speech(tmp_path / "s.wav", 0.2)
    options = SyncOptions(**FAST, box=(10, 40, 10, 40), resize_factor=2, rotate=True, crop=(0, 61, 0, 45))
    report = LipSyncer(options=options, generator=SpyGenerator.make()).sync(face, speech, tmp_path / "o.mp4")
    info = probe(tmp_path / "o.mp4")
    assert report.frames == 5 and (info.width, info.height) == (46, 62)  # 45 x 61, padded to even


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory, face_image: np.ndarray) -> dict[str, Path]:
    """Small files for CLI runs: a face clip, speech, a video with sound, a tiny generator checkpoint."""
    from attnwav2lip.checkpoints import save_model
    from attnwav2lip.models import Generator, GeneratorConfig, LipSyncExpert
    from attnwav2lip.models.config import ExpertConfig

    root = tmp_path_factory.mktemp("media")
    speech = _speech(root / "speech.wav", 0.5)
    save_model(Generator(GeneratorConfig(width=0.125)), root / "gen.safetensors")
    save_model(LipSyncExpert(ExpertConfig(width=0.125)), root / "expert.safetensors")
    talking = root / "talking.mp4"
    write_video(talking, [face_image] * 10, 25, audio.load_audio(speech), 16000)
    write_wav(root / "empty.wav", np.zeros(0, np.float32), 16000)
    (root / "corrupt.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    return {"face": _video(root / "face.mp4", [face_image] * 4), "speech": speech, "talking": talking,
            "gen": root / "gen.safetensors", "expert": root / "expert.safetensors", "empty": root / "empty.wav",
            "corrupt": root / "corrupt.mp4", "silent": _video(root / "silent.mp4", [face_image] * 2)}


def _cli(media: dict[str, Path], out: Path, *args: str) -> int:
    return main(["sync", "--checkpoint", str(media["gen"]), "-o", str(out), "--quiet", "--no-cache", *args])


def test_cli_runs_with_a_video_as_audio(tmp_path: Path, media: dict[str, Path], capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out.mp4"
    code = _cli(media, out, "--face", str(media["face"]), "--audio", str(media["talking"]),
                "--box", *map(str, BOX), "--reference", "window", "--blend", "none", "--batch-size", "3")
    assert code == 0 and "wrote" in capsys.readouterr().out
    info = probe(out)
    assert info.num_frames == 10 and info.has_audio


@pytest.mark.parametrize(
    ("face", "speech", "extra", "message"),
    [
        ("missing", "speech", (), "not found"),
        ("speech", "speech", (), "no video stream"),
        ("face", "silent", (), "no audio stream"),
        ("corrupt", "speech", (), "corrupt|not a readable"),
        ("face", "corrupt", (), "decode|corrupt"),
        ("face", "empty", (), "no samples"),
        ("silent", "speech", ("--on-missing-face", "error"), "no face"),
        ("face", "speech", ("--checkpoint", "expert"), "generator"),
        ("face", "speech", ("--out-dir-missing",), "does not exist"),
        ("face", "speech", ("--preset", "bogus"), "preset must be one of ultrafast.*got 'bogus'"),
        ("face", "speech", ("--crf", "99"), r"crf must be in 0\.\.51, got 99"),
    ],
)
def test_cli_errors(tmp_path: Path, media: dict[str, Path], capsys: pytest.CaptureFixture,
                    face: str, speech: str, extra: tuple[str, ...], message: str) -> None:
    import re

    out = tmp_path / "out.mp4"
    args = list(extra)
    if args == ["--out-dir-missing"]:
        args, out = [], tmp_path / "no" / "such" / "out.mp4"
    if args[:1] == ["--checkpoint"]:
        args[1] = str(media[args[1]])
    blank = tmp_path / "blank.mp4"
    if face == "silent":  # a clip with no face anywhere
        _video(blank, [np.full((64, 64, 3), 128, np.uint8)] * 3)
    face_path = blank if face == "silent" else media.get(face, tmp_path / "missing.mp4")
    code = _cli(media, out, "--face", str(face_path), "--audio", str(media[speech]), *args)
    err = capsys.readouterr().err
    assert code == 2
    assert re.search(message, err), err
    assert "Traceback" not in err and err.count("error:") == 1
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) in ([], ["blank.mp4"])


def test_face_options(tmp_path: Path, media: dict[str, Path], face_image: np.ndarray) -> None:
    """--face-index picks a face (there is only one: index 1 is refused), --detector, --nosmooth,
    --pads, --landmarks and --device change what runs."""
    pairs: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def run(**extra) -> object:
        options = SyncOptions(**FAST, **extra)
        return LipSyncer(options=options, generator=SpyGenerator.make()).sync(
            media["face"], media["speech"], tmp_path / "o.mp4", hook=lambda i, s, d: pairs.__setitem__(i, (s, d)))

    with pytest.raises(NoFaceError, match=r"^--face-index 1: at most 1 face per frame found in .*face\.mp4 "
                                          r"\(valid indices: 0\.\.0\)$"):
        run(face_index=1, smooth=False)
    assert run(detector="haar", pads=(0, 0, 0, 0), device="cpu").missing_face_frames == 0
    changed = [np.argwhere(np.any(s != d, axis=2)) for s, d in pairs.values()]
    assert all(len(c) for c in changed)
    run(landmarks=True)  # mask from the mesh's jaw line; the upper face never changes
    src, dst = pairs[0]
    assert np.any(src != dst) and np.array_equal(src[:40], dst[:40])


def _has(device: str) -> bool:
    import torch

    return torch.cuda.is_available() if device == "cuda" else torch.backends.mps.is_available()


@pytest.mark.parametrize("device", [
    pytest.param(d, marks=pytest.mark.skipif(_has(d), reason=f"{d} is available on this machine, so it is no error"))
    for d in ("cuda", "mps")
])
def test_unavailable_device_is_a_user_error(tmp_path: Path, media: dict[str, Path],
                                            capsys: pytest.CaptureFixture, device: str) -> None:
    code = _cli(media, tmp_path / "o.mp4", "--face", str(media["face"]), "--audio", str(media["speech"]),
                "--device", device)
    assert code == 2 and "not available" in capsys.readouterr().err


def test_cli_choices_are_the_librarys() -> None:
    """The CLI spells its choices out (importing the pipeline would slow `--help`): they must not drift."""
    import argparse

    import typing

    hints = typing.get_type_hints(SyncOptions)
    subparsers = next(a for a in cli.build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    choices = {a.dest: tuple(a.choices) for a in subparsers.choices["sync"]._actions if a.choices}
    assert choices == {name: typing.get_args(hints[name]) for name in
                       ("detector", "on_missing_face", "loop", "reference", "blend", "precision")}


def test_precision_bf16_is_close_to_fp32_and_reported(tmp_path: Path, face_image: np.ndarray,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Forced bf16 runs on any CPU; its faces stay close to fp32's, and auto probes the loaded generator."""
    face = _video(tmp_path / "face.mp4", [face_image] * 4)
    speech = _speech(tmp_path / "s.wav", 0.16)
    box = dict(box=(20, 110, 20, 110))
    frames, reports = {}, {}
    for precision in ("fp32", "bf16"):
        syncer = LipSyncer(options=SyncOptions(**FAST, **box, precision=precision), generator=SpyGenerator.make())
        reports[precision] = syncer.sync(face, speech, tmp_path / f"{precision}.mp4")
        frames[precision] = np.stack(list(iter_frames(tmp_path / f"{precision}.mp4"))).astype(np.float64)
    assert reports["fp32"].precision == "fp32 (asked for)" and reports["bf16"].precision == "bf16 (asked for)"
    mse = np.mean((frames["fp32"] - frames["bf16"]) ** 2)
    assert 10 * np.log10(255 ** 2 / max(mse, 1e-12)) > 30  # random weights, x264 at crf 18: a layout bug gives ~10
    monkeypatch.setenv("ATTNWAV2LIP_NATIVE_BF16", "1")
    spy = SpyGenerator.make()
    auto = LipSyncer(options=SyncOptions(**FAST, **box), generator=spy)
    assert auto.precision.reason.startswith("auto: ATTNWAV2LIP_NATIVE_BF16=1")
    assert len(spy.seen) >= 4 and spy.seen[0][1].shape == (4, 6, 96, 96)  # the probe ran on this generator
