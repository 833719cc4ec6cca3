"""Training data: preprocessing, the clip store, the original Wav2Lip layout, window sampling.

Sampler API (what the trainer uses; see docs/data.md for the rules)::

    from attnwav2lip.data import ClipStore, Wav2LipLayout, SamplingConfig, WindowConfig
    from attnwav2lip.data import ExpertDataset, GeneratorDataset

    source = ClipStore("dataset", split="train")          # or Wav2LipLayout(root, "train")
    config = SamplingConfig(window=WindowConfig(window=5, mel_offset=gen_config.mel_offset), size=96)
    data = GeneratorDataset(source, config, seed=0)       # or ExpertDataset(...)
    data.set_epoch(epoch)                                  # before each epoch
    item = data[i]                                         # == data.sample(epoch, i), pure in (seed, epoch, i)
    # generator: faces (6,T,96,96), indiv_mels (T,1,80,16), mel (1,80,16), gt (3,T,96,96)
    # expert:    faces (15,48,96), mel (1,80,16), label (1,)   -- RGB float32 in [0, 1]

``WindowSampler`` gives the same draws as numpy arrays (uint8 frames) without torch.
Making a store: ``preprocess(videos, out, PreprocessConfig(), workers=, shard=)`` or
``convert_wav2lip(root, out)`` (the CLI's ``attnwav2lip preprocess``).
Submodules load lazily, so importing this package imports neither torch nor media libraries.
"""

from __future__ import annotations

from .._lazy import lazy_exports

_LAZY: dict[str, str] = {
    "ClipStore": "attnwav2lip.data.store",
    "ClipRecord": "attnwav2lip.data.store",
    "DatasetError": "attnwav2lip.data.store",
    "read_clip_manifest": "attnwav2lip.data.store",
    "write_clip": "attnwav2lip.data.store",
    "WindowConfig": "attnwav2lip.data.sampling",
    "WindowSampler": "attnwav2lip.data.sampling",
    "AugmentConfig": "attnwav2lip.data.augment",
    "SamplingConfig": "attnwav2lip.data.datasets",
    "ExpertDataset": "attnwav2lip.data.datasets",
    "GeneratorDataset": "attnwav2lip.data.datasets",
    "Wav2LipLayout": "attnwav2lip.data.wav2lip_layout",
    "convert_wav2lip": "attnwav2lip.data.wav2lip_layout",
    "preprocess": "attnwav2lip.data.preprocess",
    "PreprocessConfig": "attnwav2lip.data.preprocess",
    "OffsetCheckConfig": "attnwav2lip.data.preprocess",
    "find_videos": "attnwav2lip.data.sources",
}

__all__ = list(_LAZY)
__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
