"""attnwav2lip: lip-sync talking-face generation with AttnWav2Lip.

The public API is imported lazily so that ``import attnwav2lip`` stays fast (no torch, no
media libraries) until a name is actually used::

    from attnwav2lip import LipSyncer, load_model
"""

from __future__ import annotations

from ._lazy import lazy_exports

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY: dict[str, str] = {
    "LipSyncer": "attnwav2lip.lipsync.pipeline",
    "SyncOptions": "attnwav2lip.lipsync.options",
    "load_audio": "attnwav2lip.audio",
    "melspectrogram": "attnwav2lip.audio",
    "load_model": "attnwav2lip.checkpoints",
    "save_model": "attnwav2lip.checkpoints",
    "load_builtin": "attnwav2lip.builtin",
    "Generator": "attnwav2lip.models",
    "LipSyncExpert": "attnwav2lip.models",
    "QualityDiscriminator": "attnwav2lip.models",
    "SyncNetEvaluator": "attnwav2lip.models",
    "lse_scores": "attnwav2lip.metrics",
    "sync_scores": "attnwav2lip.metrics",  # the first release's name of lse_scores
    "SyncScores": "attnwav2lip.metrics",
    "score_synthtalk": "attnwav2lip.evaluation.synthtalk",
    "attention_figure": "attnwav2lip.viz",
    "export_onnx": "attnwav2lip.export",
    "OnnxGenerator": "attnwav2lip.export",
    "train_generator": "attnwav2lip.train",
    "train_expert": "attnwav2lip.train",
    "TrainConfig": "attnwav2lip.train",
    "ExpertTrainConfig": "attnwav2lip.train",
    "create_detector": "attnwav2lip.faces",
    "speak": "attnwav2lip.synth.speech",
    "write_corpus": "attnwav2lip.synth.corpus",
    "CorpusConfig": "attnwav2lip.synth.corpus",
    "AttnWav2LipError": "attnwav2lip.errors",
}

__all__ = ["__version__", *_LAZY]
__getattr__, __dir__ = lazy_exports(__name__, _LAZY, eager=["__version__"])
