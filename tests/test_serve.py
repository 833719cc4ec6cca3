"""`attnwav2lip serve`: the page in headless Chromium, the HTTP API through gradio_client, limits,
cancel and the time-to-live clean-up. One in-process server per test group, tiny built-in model."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Iterator

import pytest

from attnwav2lip.cli import build_parser
from attnwav2lip.errors import ConfigError

from serve_helpers import (browser_page, describe_mp4, needs_browser, photo, screenshot, serving, speech)

pytestmark = pytest.mark.slow  # a Gradio server per test, some with a browser

pytest.importorskip("gradio", reason="serve needs the [serve] extra: pip install -e '.[serve]'")

SPEECH_SECONDS = 1.0
WAIT_MS = 240_000  # generous: the suite runs on 2 busy cores
TTL_SECONDS = 8.0  # longer than an upload waits for its job here; files go once they are this old


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("media")
    junk = folder / "notes.mp4"
    junk.write_text("these are meeting notes, not a video\n")
    return {"photo": photo(folder / "astronaut.png"), "speech": speech(folder / "speech.wav", SPEECH_SECONDS),
            "long_speech": speech(folder / "long.wav", 30.0), "junk": junk}


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The built-in model replaced by a tiny one, and detections cached in a temporary folder.

    Yields the folder of the tiny models' source files (``generator_fp32.safetensors``, ``expert_fp32...``).
    """
    from builtin_assets import tiny_assets

    with pytest.MonkeyPatch.context() as mp:
        assets = tiny_assets(tmp_path_factory.mktemp("assets"))
        mp.setenv("ATTNWAV2LIP_ASSETS", str(assets))
        mp.setenv("ATTNWAV2LIP_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield assets / "sources"


@pytest.fixture(scope="module")
def server(tiny_models: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, object]]:
    """The server, offering a --checkpoint besides the built-in model."""
    with pytest.MonkeyPatch.context() as mp, serving(tmp_path_factory.mktemp("server"), mp,
                                                      checkpoints=(tiny_models / "generator_fp32.safetensors",)) as running:
        yield running


def _client(url: str, **kwargs: object):
    from gradio_client import Client

    return Client(url, verbose=False, **kwargs)


def _sync_args(media: dict[str, Path], face: str = "photo", audio: str = "speech") -> dict[str, object]:
    from gradio_client import handle_file

    return {"face_photo": handle_file(str(media[face])), "speech": handle_file(str(media[audio])), "api_name": "/sync"}


def test_cli_reads_auth_from_the_environment_only() -> None:
    from attnwav2lip.serve import auth_from_env

    args = build_parser().parse_args(["serve"])
    assert (args.host, args.port, args.concurrency) == ("127.0.0.1", 7860, 1)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--auth", "a:b"])
    assert auth_from_env({"ATTNWAV2LIP_AUTH": "ann:s3cret:x"}) == ("ann", "s3cret:x")
    assert auth_from_env({}) is None
    with pytest.raises(ConfigError, match="user:password"):
        auth_from_env({"ATTNWAV2LIP_AUTH": "ann"})


def test_page_options_get_the_cli_checks() -> None:
    from attnwav2lip.serve.options import sync_options

    good = dict(pads=(0, 10, 0, 0), box="", face_index=0, detector="auto", reference="frame",
                close_on_silence=False, loop="pingpong", resize_factor=1, crf=18, precision="auto")
    assert sync_options(**{**good, "box": "1, 2 3 4"}).box == (1, 2, 3, 4)
    for bad, message in (({"crf": 60}, "crf"), ({"resize_factor": 0}, "resize_factor"), ({"box": "1 2 3"}, "4 values"),
                         ({"face_index": 1.5}, "whole number"), ({"loop": "bounce"}, "loop"),
                         ({"detector": "s3fd"}, "detector")):
        with pytest.raises(ConfigError, match=message):
            sync_options(**{**good, **bad})


def test_api_runs_a_job(server: tuple[str, object], media: dict[str, Path]) -> None:
    url, app = server
    client = _client(url)
    image, faces = client.predict(face_photo=_sync_args(media)["face_photo"], api_name="/preview")
    assert faces.startswith("1 face found") and Path(image).is_file()
    status, video, download, pair, report = client.predict(**_sync_args(media))
    assert status.startswith("done") and Path(video).read_bytes() == Path(download).read_bytes()
    assert report["frames"] == 25 and report["frames_without_face"] == 0 and "built-in" in report["model"]
    assert {"detect", "generate", "encode"} <= set(report["ms_per_frame"]) and len(pair) == 2
    info = describe_mp4(Path(video))
    assert (info["video"], info["audio"], info["size"]) == ("h264", "aac", (512, 512))
    assert not any(app.workdir.iterdir())  # the job's folder went with it


def test_api_models_from_the_server_and_uploads(server: tuple[str, object], media: dict[str, Path],
                                               tiny_models: Path) -> None:
    from gradio_client import handle_file

    client = _client(server[0])
    report = client.predict(**_sync_args(media), model="generator_fp32.safetensors")[-1]
    assert report["model"] == "checkpoint generator_fp32.safetensors"
    upload = handle_file(str(tiny_models / "generator_fp32.safetensors"))
    assert client.predict(**_sync_args(media), checkpoint=upload)[-1]["model"].startswith("uploaded checkpoint")
    with pytest.raises(Exception, match="generator") as caught:  # an expert is refused by the safe loader
        client.predict(**_sync_args(media), checkpoint=handle_file(str(tiny_models / "expert_fp32.safetensors")))
    assert "Traceback" not in str(caught.value)


def test_api_user_errors_are_one_line(server: tuple[str, object], media: dict[str, Path]) -> None:
    from gradio_client import handle_file

    client = _client(server[0])
    for args, expected in (({"face_video": handle_file(str(media["junk"]))}, "notes.mp4: not a readable media file"),
                           ({"face_photo": handle_file(str(media["photo"])), "text": "hi"}, "not both"),
                           ({"face_photo": handle_file(str(media["photo"])), "box": "1 2 3"}, "4 values")):
        args.setdefault("speech", handle_file(str(media["speech"])))
        with pytest.raises(Exception) as caught:
            client.predict(**args, api_name="/sync")
        message = str(caught.value)
        assert expected in message and "\n" not in message.strip() and "Traceback" not in message
        assert "/" not in message.split(expected)[0][-40:]  # no server paths before the file name
    assert client.predict(face_photo=handle_file(str(media["photo"])), api_name="/preview")[1]  # still serving


def test_api_cancel_stops_the_job_and_cleans_up(server: tuple[str, object], media: dict[str, Path]) -> None:
    url, app = server
    job = _client(url).submit(**_sync_args(media, audio="long_speech"))
    deadline = time.monotonic() + WAIT_MS / 1000
    while not any(str(o[0]).startswith("sync:") for o in job.outputs()):
        assert time.monotonic() < deadline and not job.done(), "the job never reached the sync stage"
        time.sleep(0.2)
    job.cancel()
    while app._jobs or any(app.workdir.iterdir()):  # noqa: SLF001 - the server's own record of running jobs
        assert time.monotonic() < deadline, "the cancelled job kept running"
        time.sleep(0.2)


def test_ttl_removes_uploads_and_results(tiny_models: Path, tmp_path: Path, media: dict[str, Path],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    with serving(tmp_path, monkeypatch, ttl_seconds=TTL_SECONDS) as (url, _):
        _client(url).predict(**_sync_args(media))
        files = [p for p in (tmp_path / "gradio").rglob("*") if p.is_file()]
        assert any(p.suffix == ".mp4" for p in files) and any(p.name == "speech.wav" for p in files)
        deadline = time.monotonic() + 4 * TTL_SECONDS
        while any(p.exists() for p in files):
            assert time.monotonic() < deadline, [str(p) for p in files if p.exists()]
            time.sleep(0.5)


def _upload(page, component: str, path: Path) -> None:
    page.locator(f"#{component} input[type=file]").set_input_files(str(path))


@needs_browser
def test_browser_end_to_end(server: tuple[str, object], media: dict[str, Path], tmp_path: Path) -> None:
    from playwright.sync_api import expect

    with browser_page(server[0]) as (page, foreign):
        page.get_by_role("tab", name="Face photo").click()
        _upload(page, "face-photo", media["photo"])
        _upload(page, "speech", media["speech"])
        page.get_by_role("button", name="Preview").click()
        expect(page.locator("#faces textarea")).to_have_value(re.compile(r"^1 face found"), timeout=WAIT_MS)
        expect(page.locator("#preview img")).to_be_visible()
        screenshot(page, "serve_page.png")
        page.get_by_role("button", name="Lip-sync").click()
        expect(page.locator("#result video")).to_be_visible(timeout=WAIT_MS)
        expect(page.locator("#status textarea")).to_have_value(re.compile(r"^done: 25 frames"))
        with page.expect_download() as download:
            page.locator("#download a").first.click()
        result = tmp_path / "result.mp4"
        download.value.save_as(result)
        screenshot(page, "serve_result.png")
    info = describe_mp4(result)
    assert (info["video"], info["audio"], info["size"]) == ("h264", "aac", (512, 512))
    assert info["audio_seconds"] == pytest.approx(SPEECH_SECONDS, abs=0.07)
    assert not foreign, foreign


@needs_browser
def test_browser_shows_a_bad_upload_as_one_line_then_runs(server: tuple[str, object], media: dict[str, Path]) -> None:
    from playwright.sync_api import expect

    with browser_page(server[0]) as (page, foreign):
        _upload(page, "face-video", media["junk"])
        _upload(page, "speech", media["speech"])
        page.get_by_role("button", name="Lip-sync").click()
        toast = page.locator(".toast-body").filter(has_text="not a readable media file")
        expect(toast).to_be_visible(timeout=WAIT_MS)
        message = toast.inner_text()
        assert "Traceback" not in message and "/tmp" not in message
        page.reload()  # the same server, a fresh page
        page.get_by_role("tab", name="Face photo").click()
        _upload(page, "face-photo", media["photo"])
        _upload(page, "speech", media["speech"])
        page.get_by_role("button", name="Lip-sync").click()
        expect(page.locator("#result video")).to_be_visible(timeout=WAIT_MS)
    assert not foreign, foreign
