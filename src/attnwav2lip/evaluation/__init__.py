"""Protocols that generate with ``LipSyncer`` and then score with ``attnwav2lip.metrics``.

- ``synthtalk``: SynthTalk cross pairs, scored against the rendered truth of "A saying B";
- ``lrs_generation``: Wav2Lip's test lists, generated and scored with the LRS protocol.
"""
