"""Helpers for tests/test_serve.py only: small media, an in-process server, a locked-down browser."""

from __future__ import annotations

import importlib.util
import os
import socket
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

import numpy as np
import pytest

from media_files import write_wav

CHROMIUM = "/usr/bin/chromium"
# Flags that keep Chromium from opening any connection of its own (updates, sync, metrics, ...).
QUIET_BROWSER = ["--headless=new", "--no-sandbox", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-default-apps",
                 "--disable-domain-reliability", "--disable-features=Translate,OptimizationHints,MediaRouter",
                 "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
SCREENSHOTS_ENV = "ATTNWAV2LIP_SCREENSHOTS"  # a folder: the browser test saves the docs' screenshots there
SCREENSHOT_COLOURS = 64  # palette size: keeps each PNG well under 300 KB


def _missing_browser_tool() -> str | None:
    """What the browser tests lack on this machine, with how to install it; None when nothing is missing."""
    if importlib.util.find_spec("playwright") is None:
        return "browser tests need the [serve] extra (playwright): pip install -e '.[serve]'"
    if not Path(CHROMIUM).is_file():
        return "browser tests need Debian's chromium: apt-get install -y chromium"
    return None


MISSING_BROWSER_TOOL = _missing_browser_tool()
# Skips where a browser tool is missing, saying which; under CI=true the tests run and fail instead.
needs_browser = pytest.mark.skipif(MISSING_BROWSER_TOOL is not None and os.environ.get("CI") != "true",
                                   reason=MISSING_BROWSER_TOOL or "")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def photo(path: Path) -> Path:
    """scikit-image's astronaut (512 x 512, one face) as a PNG."""
    import cv2
    import skimage.data

    cv2.imwrite(str(path), cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR))
    return path


def speech(path: Path, seconds: float, rate: int = 16000) -> Path:
    """A pitched, amplitude-modulated tone with noise: 'speech' as far as the mel front end cares."""
    t = np.arange(int(seconds * rate)) / rate
    rng = np.random.default_rng(0)
    sound = 0.3 * np.sin(2 * np.pi * 180 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t)) + 0.05 * rng.standard_normal(t.size)
    return write_wav(path, sound, rate)


@contextmanager
def serving(folder: Path, monkeypatch: pytest.MonkeyPatch, **config: object) -> Iterator[tuple[str, object]]:
    """(url, LipSyncApp) of a server on a free port; its Gradio files live in ``folder``/gradio."""
    from attnwav2lip.serve import ServeConfig, launch

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(folder / "gradio"))  # read when the server is built
    port = free_port()
    page, app = launch(ServeConfig(port=port, workdir=folder / "jobs", **config), block=False)  # type: ignore[arg-type]
    try:
        yield f"http://127.0.0.1:{port}/", app
    finally:
        page.close()


@contextmanager
def browser_page(url: str) -> Iterator[tuple[object, list[str]]]:
    """(page, foreign) in headless Debian Chromium; requests to any other host are aborted and listed."""
    from playwright.sync_api import sync_playwright

    server = urlsplit(url).netloc
    foreign: list[str] = []

    def only_the_server(route: object) -> None:
        request_url = route.request.url  # type: ignore[attr-defined]
        if urlsplit(request_url).scheme in ("data", "blob") or urlsplit(request_url).netloc == server:
            route.continue_()  # type: ignore[attr-defined]
        else:
            foreign.append(request_url)
            route.abort()  # type: ignore[attr-defined]

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=QUIET_BROWSER)
        try:
            context = browser.new_context(viewport={"width": 1200, "height": 900}, accept_downloads=True)
            context.route("**/*", only_the_server)
            page = context.new_page()
            page.goto(url)
            yield page, foreign
        finally:
            browser.close()


def screenshot(page: object, name: str) -> None:
    """Save the whole page as ``$ATTNWAV2LIP_SCREENSHOTS/name`` (a small palette PNG), when that is set."""
    folder = os.environ.get(SCREENSHOTS_ENV)
    if not folder:
        return
    import io

    from PIL import Image

    png = page.screenshot(full_page=True)  # type: ignore[attr-defined]
    image = Image.open(io.BytesIO(png)).convert("RGB").quantize(SCREENSHOT_COLOURS)
    image.save(Path(folder) / name, optimize=True)


def describe_mp4(path: Path) -> dict[str, object]:
    """Codecs, frame size and audio duration of an mp4, as the checks need them."""
    import av

    with av.open(str(path)) as container:
        video, sound = container.streams.video[0], container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(sound))
        return {"video": video.codec_context.name, "audio": sound.codec_context.name,
                "size": (video.codec_context.width, video.codec_context.height),
                "audio_seconds": samples / sound.rate}
