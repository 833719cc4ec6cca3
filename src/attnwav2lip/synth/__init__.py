"""SynthTalk: a synthetic talking-face corpus with exact ground truth.

espeak-ng speech with phoneme timings (`speech`), phoneme-to-mouth trajectories (`visemes`),
procedural identities and motion (`identity`, `motion`), the renderer (`face`, `render`) and the
corpus writer (`corpus`). Names load lazily so `import attnwav2lip.synth` stays cheap::

    from attnwav2lip.synth import speak, sample_identity, sample_motion, mouth_track, render

    utt = speak("Bob buys a purple fish.", "en-us+f2")
    n = int(utt.duration * 25)
    frames = render(sample_identity(7), sample_motion(7, n), mouth_track(utt.phones, 25, n))
"""

from __future__ import annotations

from .._lazy import lazy_exports

_LAZY: dict[str, str] = {
    "speak": "attnwav2lip.synth.speech",
    "Utterance": "attnwav2lip.synth.speech",
    "Phone": "attnwav2lip.synth.speech",
    "VISEMES": "attnwav2lip.synth.visemes",
    "mouth_track": "attnwav2lip.synth.visemes",
    "Identity": "attnwav2lip.synth.identity",
    "sample_identity": "attnwav2lip.synth.identity",
    "Motion": "attnwav2lip.synth.motion",
    "PoseRange": "attnwav2lip.synth.motion",
    "sample_motion": "attnwav2lip.synth.motion",
    "fit_motion": "attnwav2lip.synth.render",
    "render": "attnwav2lip.synth.render",
    "iter_render": "attnwav2lip.synth.render",
    "face_boxes": "attnwav2lip.synth.render",
    "Renderer": "attnwav2lip.synth.render",
}

__all__ = list(_LAZY)
__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
