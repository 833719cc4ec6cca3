"""Video I/O: probing, stills by content, streaming reads, the H.264 + AAC writer and its guarantees."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from attnwav2lip import video
from attnwav2lip.errors import ConfigError, MediaError


def _frames(n: int, h: int = 48, w: int = 64) -> list[np.ndarray]:
    """Frames whose brightness encodes their index, so order and count are checkable after H.264."""
    return [np.full((h, w, 3), 10 + 4 * i % 240, np.uint8) for i in range(n)]


def _tone(seconds: float, rate: int, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(round(seconds * rate))) / rate
    return (0.4 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_round_trip_counts_rates_and_codecs(tmp_path: Path) -> None:
    import av

    out = tmp_path / "clip.mp4"
    video.write_video(out, _frames(40), 25, _tone(1.6, 16000), 16000)
    info = video.probe(out)
    assert (info.width, info.height, info.num_frames, info.fps) == (64, 48, 40, 25.0)
    assert info.has_video and info.has_audio and not info.is_image
    assert info.audio_rate == 16000 and abs(info.duration - 1.6) < 1e-6
    with av.open(str(out)) as container:
        v, a = container.streams.video[0], container.streams.audio[0]
        assert v.codec_context.name == "h264" and v.codec_context.pix_fmt == "yuv420p"
        assert a.codec_context.name == "aac"
        assert abs(float(a.duration * a.time_base) - 1.6) < 1e-3
    means = [frame.mean() for frame in video.iter_frames(out)]
    assert len(means) == 40
    assert np.allclose(means, [10 + 4 * i for i in range(40)], atol=2)


def test_odd_size_is_padded_and_ntsc_rate_is_exact(tmp_path: Path) -> None:
    out = tmp_path / "odd.mp4"
    ramp = np.add.outer(np.arange(33) * 3, np.arange(45) * 2).astype(np.uint8)
    frames = [np.stack([ramp + i, ramp, 255 - ramp], axis=-1) for i in range(6)]
    video.write_video(out, frames, 30000 / 1001, crf=0)
    info = video.probe(out)
    assert (info.width, info.height) == (46, 34)
    assert video.frame_rate(info.fps) == video.frame_rate(30000 / 1001)
    assert abs(info.fps - 29.97) < 1e-3 and abs(info.duration - 6 * 1001 / 30000) < 1e-6
    first = next(video.iter_frames(out))
    np.testing.assert_array_equal(first[33], first[32])  # the added row repeats the last one
    assert np.abs(first[:33, :45].astype(int) - frames[0]).mean() < 3


def test_audio_from_file_keeps_its_rate_starts_at_zero_and_is_cut(tmp_path: Path) -> None:
    import av

    from attnwav2lip.audio import load_audio

    source = tmp_path / "music.mp4"
    stereo = np.stack([_tone(3.0, 48000, 1000)] * 2, axis=1)
    video.write_video(source, _frames(75), 25, stereo, 48000)  # 3 s of 48 kHz stereo
    out = tmp_path / "out.mp4"
    with video.VideoWriter(out, 25, (64, 48), audio=source) as writer:
        writer.write_batch(np.stack(_frames(25)))  # 1 s of video
    with av.open(str(out)) as container:
        a = container.streams.audio[0]
        assert a.rate == 48000 and a.channels == 2
        assert abs(float(a.duration * a.time_base) - 1.0) < 1e-3
    got = load_audio(out)
    ref = load_audio(source)[: got.size]
    assert abs(got.size - 16000) <= 1
    lags = range(-4, 5)
    assert max(lags, key=lambda k: float(np.dot(got[300 + k : -300 + k], ref[300:-300]))) == 0


@pytest.mark.parametrize("name", ["face.png", "face.jpg", "face.webp", "face.bmp", "./a.b.c.png", "noext"])
def test_stills_are_recognised_by_content(tmp_path: Path, name: str) -> None:
    import cv2

    image = np.zeros((30, 40, 3), np.uint8)
    image[..., 0] = 200  # red in RGB
    path = tmp_path / name
    ok, data = cv2.imencode(".png" if name == "noext" else Path(name).suffix, image[..., ::-1])
    assert ok
    path.write_bytes(data.tobytes())
    info = video.probe(path)
    assert info.is_image and info.num_frames == 1 and (info.width, info.height) == (40, 30)
    pixel = video.read_image(path)[15, 20]
    assert pixel[0] > 150 and pixel[2] < 60


def test_iter_frames_start_and_scale(tmp_path: Path) -> None:
    out = tmp_path / "clip.mp4"
    video.write_video(out, [np.full((60, 100, 3), 20 * i, np.uint8) for i in range(10)], 25)
    frames = list(video.iter_frames(out, start=4, scale=50))
    assert len(frames) == 6 and frames[0].shape == (30, 50, 3)
    assert abs(frames[0].mean() - 80) < 5  # frame 4, not 3 (60) or 5 (100)
    assert next(video.iter_frames(out, scale=(20, 10))).shape == (10, 20, 3)
    assert video.scaled_size(100, 60, 200) == (100, 60)  # never upscaled


ORANGE = (200, 60, 30)  # saturated: BT.601 and BT.709 decode it 10+ levels apart


def test_hd_output_is_tagged_bt601_and_keeps_its_colours(tmp_path: Path) -> None:
    import av

    out = tmp_path / "hd.mp4"
    video.write_video(out, [np.full((720, 1280, 3), ORANGE, np.uint8)] * 2, 25)
    with av.open(str(out)) as container:
        cc = container.streams.video[0].codec_context
        # AVCOL_PRI / TRC / SPC_SMPTE170M = 6, AVCOL_RANGE_MPEG (limited) = 1
        assert (cc.color_primaries, cc.color_trc, cc.colorspace, cc.color_range) == (6, 6, 6, 1)
    assert np.abs(next(video.iter_frames(out))[360, 640].astype(int) - ORANGE).max() <= 3


def test_bt709_input_is_decoded_with_its_own_matrix(tmp_path: Path) -> None:
    import av

    source = tmp_path / "bt709.mp4"
    with av.open(str(source), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 1280, 720, "yuv420p"
        cc = stream.codec_context
        cc.color_primaries = cc.color_trc = cc.colorspace = 1  # BT.709, as phones and cameras tag HD
        cc.color_range = 1
        frame = av.VideoFrame.from_ndarray(np.full((720, 1280, 3), ORANGE, np.uint8), format="rgb24")
        frame = frame.reformat(format="yuv420p", dst_colorspace="ITU709", dst_color_range="MPEG")
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    assert np.abs(next(video.iter_frames(source))[360, 640].astype(int) - ORANGE).max() <= 3


def test_failed_write_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    with pytest.raises(RuntimeError):
        with video.VideoWriter(out, 25, (32, 32), audio=_tone(1, 16000)) as writer:
            writer.write_batch(_frames(5, 32, 32))
            raise RuntimeError("interrupted")
    with pytest.raises(MediaError, match="no frames"):
        with video.VideoWriter(out, 25, (32, 32)):
            pass
    with pytest.raises(ValueError):
        with video.VideoWriter(out, 25, (32, 32)) as writer:
            writer.write(np.zeros((16, 16, 3), np.uint8))
    assert list(tmp_path.iterdir()) == []


def test_errors(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="not found"):
        video.probe(tmp_path / "missing.mp4")
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 20)
    with pytest.raises(MediaError):
        video.probe(corrupt)
    with pytest.raises(MediaError):
        list(video.iter_frames(corrupt))
    with pytest.raises(MediaError):
        video.VideoWriter(tmp_path / "x.mp4", 0, (8, 8))
    with pytest.raises(ConfigError, match="preset"):  # before any frame is decoded or written
        video.VideoWriter(tmp_path / "x.mp4", 25, (8, 8), preset="bogus")
    with pytest.raises(MediaError, match="no audio"):
        silent = tmp_path / "silent.mp4"
        video.write_video(silent, _frames(2), 25)
        with video.VideoWriter(tmp_path / "y.mp4", 25, (64, 48), audio=silent):
            pass
    assert not (tmp_path / "y.mp4").exists()
