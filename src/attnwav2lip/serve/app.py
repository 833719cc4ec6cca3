"""The Gradio page and its HTTP API: preview, sync (with progress, queue and cancel), results.

Every handler turns the package's user errors into one readable line (``gr.Error``); anything else
is a bug, logged with its traceback on the server while the page shows a generic error.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import uuid
from pathlib import Path
from typing import Any, Iterator

# Read when Gradio is imported: no usage statistics or version checks leave the machine.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
import gradio as gr  # noqa: E402

from ..errors import AttnWav2LipError, ConfigError  # noqa: E402
from .config import ServeConfig  # noqa: E402
from .jobs import BUILTIN, Job, JobCancelled, Models  # noqa: E402
from .limits import check_face, check_speech  # noqa: E402
from .options import DEFAULTS, DETECTORS, LOOPS, PRECISIONS, REFERENCES, sync_options  # noqa: E402
from .preview import preview  # noqa: E402

POLL_SECONDS = 0.25  # how often a running job's progress reaches the page
CHECKPOINT_TYPES = [".pth", ".pt", ".tar", ".safetensors"]
# System fonts only: the default theme would fetch web fonts from a CDN, and the server works offline.
THEME = gr.themes.Default(font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])
_PATH = re.compile(r"(?:/[^/\s:'\"]+)+/([^/\s:'\"]+)")


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """The package's user errors as one line in the page, server paths reduced to file names."""
    try:
        yield
    except AttnWav2LipError as exc:
        raise gr.Error(_PATH.sub(r"\1", str(exc)), print_exception=False) from None


class LipSyncApp:
    """The handlers behind the page; one instance per server, shared by every session."""

    def __init__(self, config: ServeConfig) -> None:
        self.config = config
        self.models = Models(config.checkpoints)
        self.workdir = Path(config.workdir or tempfile.mkdtemp(prefix="attnwav2lip-serve-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._jobs: dict[str, Job] = {}  # by session: what the cancel button stops

    def preview(
        self, face_video: str | None = None, face_photo: str | None = None, pad_top: float = DEFAULTS.pads[0],
        pad_bottom: float = DEFAULTS.pads[1], pad_left: float = DEFAULTS.pads[2], pad_right: float = DEFAULTS.pads[3],
        box: str = "", face_index: float = DEFAULTS.face_index, detector: str = DEFAULTS.detector,
        resize_factor: float = DEFAULTS.resize_factor,
    ) -> tuple[Any, str]:
        """The first frame with the face box and the repainted area, and how many faces were found."""
        with user_errors():
            face = _one_face(face_video, face_photo)
            options = sync_options(pads=(pad_top, pad_bottom, pad_left, pad_right), box=box, face_index=face_index,
                                   detector=detector, resize_factor=resize_factor)
            check_face(face, self.config.limits, options.resize_factor)
            shown = preview(face, options)
        return shown.image, shown.summary()

    def sync(  # noqa: PLR0913 - one parameter per field of the page, named in the HTTP API
        self, face_video: str | None = None, face_photo: str | None = None, speech: str | None = None, text: str = "",
        model: str = BUILTIN, checkpoint: str | None = None, pad_top: float = DEFAULTS.pads[0],
        pad_bottom: float = DEFAULTS.pads[1], pad_left: float = DEFAULTS.pads[2], pad_right: float = DEFAULTS.pads[3],
        box: str = "", face_index: float = DEFAULTS.face_index, detector: str = DEFAULTS.detector,
        reference: str = DEFAULTS.reference, close_on_silence: bool = DEFAULTS.close_on_silence,
        loop: str = DEFAULTS.loop, resize_factor: float = DEFAULTS.resize_factor, crf: float = DEFAULTS.crf,
        precision: str = DEFAULTS.precision, request: gr.Request | None = None,
        progress: gr.Progress = gr.Progress(track_tqdm=True),  # noqa: ARG002 - the pipeline's bars feed it
    ) -> Iterator[tuple[Any, ...]]:
        """Lip-sync the face to the speech; yields (status, video, download, side by side, report)."""
        with user_errors():
            face = _one_face(face_video, face_photo)
            options = sync_options(pads=(pad_top, pad_bottom, pad_left, pad_right), box=box, face_index=face_index,
                                   detector=detector, reference=reference, close_on_silence=close_on_silence,
                                   loop=loop, resize_factor=resize_factor, crf=crf, precision=precision)
            text = (text or "").strip()
            check_face(face, self.config.limits, options.resize_factor)
            check_speech(speech, text, self.config.limits)
            generator, model_used = self.models.get(model, checkpoint)
        job = Job(generator, options, face, speech, text or None, self.workdir / uuid.uuid4().hex).start()
        session = _session(request)
        self._jobs[session] = job
        try:
            while not job.wait(POLL_SECONDS):
                yield str(job.progress), None, None, None, None
            if isinstance(job.error, JobCancelled):
                yield "cancelled", None, None, None, None
                return
            if job.error is not None:
                with user_errors():
                    raise job.error
            report = job.report
            assert report is not None  # noqa: S101 - set by the job when it ends without an error
            summary = _report(report, model_used)
            yield (f"done: {report.frames} frames in {report.seconds:.1f} s", str(job.out), str(job.out), job.pair,
                   summary)
        finally:  # done (Gradio has copied the result into its cache), failed, cancelled or page closed
            job.close()
            self._jobs.pop(session, None)

    def cancel(self, request: gr.Request | None = None) -> str:
        """Stop this session's running job (the button also drops it from the queue)."""
        job = self._jobs.get(_session(request))
        if job is not None:
            job.cancel()
        return "cancelled"


def _session(request: gr.Request | None) -> str:
    return (request.session_hash if request is not None else None) or ""


def _one_face(video: str | None, photo: str | None) -> str:
    if (video is None) == (photo is None):
        raise ConfigError("give one face input: a video or a photo")
    return video or photo  # type: ignore[return-value]


def _report(report: Any, model: str) -> dict[str, Any]:
    """The run report for the page and the API (frames, time per stage, faces missed, model)."""
    return {
        "model": model,
        "precision": report.precision,
        "frames": report.frames,
        "fps": report.fps,
        "source_frames": report.source_frames,
        "frames_without_face": report.missing_face_frames,
        "silent_frames": report.silent_frames,
        "seconds": round(report.seconds, 2),
        "ms_per_frame": {k: round(v, 2) for k, v in report.ms_per_frame.items()},
    }


def build(config: ServeConfig) -> tuple[gr.Blocks, LipSyncApp]:
    """The page and its handlers; ``launch`` serves the page."""
    app = LipSyncApp(config)
    ttl = max(1, round(config.ttl_seconds))
    with gr.Blocks(title="attnwav2lip", analytics_enabled=False,
                   delete_cache=(max(1, min(ttl // 2, 600)), ttl)) as page:
        gr.Markdown("# attnwav2lip\nMake a face speak: a video or a photo, and speech or text.")
        with gr.Row():
            with gr.Column():
                with gr.Tab("Face video"):
                    face_video = gr.Video(label="Face video", sources=["upload", "webcam"], include_audio=True,
                                          elem_id="face-video")
                with gr.Tab("Face photo"):
                    face_photo = gr.Image(label="Face photo", type="filepath", sources=["upload", "webcam"],
                                          elem_id="face-photo")
            with gr.Column():
                speech = gr.Audio(label="Speech", sources=["upload", "microphone"], type="filepath", format=None,
                                  elem_id="speech")
                text = gr.Textbox(value="", label="…or text to speak", lines=2, max_length=config.limits.text_chars)
                model = gr.Dropdown(app.models.names, value=BUILTIN, label="Model")
                checkpoint = gr.File(label="…or upload a generator checkpoint (used instead)",
                                     file_types=CHECKPOINT_TYPES, type="filepath")
        with gr.Accordion("Options", open=False):
            with gr.Row():
                pads = [gr.Number(value=v, label=f"pad {side}", precision=0)
                        for v, side in zip(DEFAULTS.pads, ("top", "bottom", "left", "right"))]
                box = gr.Textbox(value="", label="fixed box: top bottom left right (blank: detect)")
                face_index = gr.Number(value=DEFAULTS.face_index, label="face index (0 = largest)", precision=0)
            with gr.Row():
                detector = gr.Dropdown(list(DETECTORS), value=DEFAULTS.detector, label="detector")
                reference = gr.Dropdown(list(REFERENCES), value=DEFAULTS.reference, label="reference")
                loop = gr.Dropdown(list(LOOPS), value=DEFAULTS.loop, label="loop (video shorter than speech)")
                close_on_silence = gr.Checkbox(value=DEFAULTS.close_on_silence, label="close mouth on silence")
            with gr.Row():
                resize_factor = gr.Number(value=DEFAULTS.resize_factor, label="resize factor", precision=0, minimum=1)
                crf = gr.Slider(0, 51, value=DEFAULTS.crf, step=1, label="quality: crf (lower is better)")
                precision = gr.Dropdown(list(PRECISIONS), value=DEFAULTS.precision, label="precision")
        with gr.Row():
            preview_button = gr.Button("Preview")
            sync_button = gr.Button("Lip-sync", variant="primary")
            cancel_button = gr.Button("Cancel", variant="stop")
        with gr.Row():
            preview_image = gr.Image(label="Preview: face box and repainted area", interactive=False,
                                     elem_id="preview")
            with gr.Column():
                preview_text = gr.Textbox(label="Faces", interactive=False, elem_id="faces")
                status = gr.Textbox(label="Status", interactive=False, elem_id="status")
        with gr.Row():
            result = gr.Video(label="Result", interactive=False, elem_id="result")
            side_by_side = gr.ImageSlider(label="Input | result", interactive=False)
        with gr.Row():
            download = gr.File(label="Download", interactive=False, elem_id="download")
            report = gr.JSON(label="Run report")

        options = [*pads, box, face_index, detector]
        preview_button.click(app.preview, [face_video, face_photo, *options, resize_factor],
                             [preview_image, preview_text], api_name="preview", concurrency_id="preview",
                             concurrency_limit=2)
        job = sync_button.click(
            app.sync, [face_video, face_photo, speech, text, model, checkpoint, *options, reference,
                       close_on_silence, loop, resize_factor, crf, precision],
            [status, result, download, side_by_side, report], api_name="sync", concurrency_id="sync",
            concurrency_limit=config.concurrency)
        cancel_button.click(app.cancel, None, status, api_name="cancel", cancels=[job], queue=False)
    page.queue(max_size=config.queue_size)
    return page, app


def launch(config: ServeConfig, *, block: bool = True) -> tuple[gr.Blocks, LipSyncApp]:
    """Serve the page on ``config.host:config.port``; ``block=False`` returns once it is up (tests)."""
    page, app = build(config)
    page.launch(server_name=config.host, server_port=config.port, auth=config.auth, share=False,
                max_file_size=int(config.limits.upload_mb * 2**20), ssr_mode=False, show_error=False, quiet=True,
                prevent_thread_lock=not block, theme=THEME, footer_links=["api"],
                # Gradio's check that localhost answers gives up after one 3 s HEAD request, which a
                # busy machine can exceed; the server is up already, and share links are never used.
                _frontend=False)
    return page, app
