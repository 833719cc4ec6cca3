"""The true SynthTalk mouth box, and attention-maps measuring mouth attention with it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from attnwav2lip.errors import ConfigError
from attnwav2lip.viz import CROP, mouth_attention_share


@pytest.mark.parametrize("seed", [3, 11])
def test_the_box_bounds_exactly_the_pixels_the_lips_change(seed: int) -> None:
    """Two mouth shapes with the same (zero) jaw drop differ only on the lips: inside the boxes, up to antialiasing."""
    from attnwav2lip.synth.identity import sample_identity
    from attnwav2lip.synth.motion import sample_motion
    from attnwav2lip.synth.mouth import ROUND, WIDTH
    from attnwav2lip.synth.lip_boxes import lip_boxes
    from attnwav2lip.synth.render import Renderer

    identity = sample_identity(seed)
    motion = dataclasses.replace(sample_motion(seed, 6, 25.0), jpeg=0)
    renderer = Renderer(identity, motion, 256)
    shapes = np.zeros((3, 6))
    shapes[1, WIDTH], shapes[2, ROUND] = 1.0, 1.0
    frames = [renderer.frame(4, shape) for shape in shapes]
    boxes = lip_boxes(identity, motion.pose[[4, 4, 4]], shapes, 256)
    union = np.concatenate([boxes[:, :2].min(0), boxes[:, 2:].max(0)])
    for frame in frames[1:]:
        ys, xs = np.nonzero(np.abs(frame.astype(int) - frames[0]).max(-1) > 8)
        changed = np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
        assert np.all(np.abs(changed - union) <= 2.5), (changed, union)
    assert np.all((boxes[:, 2] - boxes[:, 0]) > 20)  # a mouth, not a speck


def test_per_face_boxes_pool_exactly() -> None:
    maps = np.zeros((2, 12, 12))
    maps[0, 0, 0] = 1.0  # face 0: all weight in the top-left 8x8 cell
    maps[1, 11, 11] = 3.0  # face 1: all weight in the bottom-right cell
    (share, area), = mouth_attention_share({"m": maps}, [(0, 0, 8, 8), (0, 0, 8, 8)]).values()
    assert share == pytest.approx(0.25) and area == pytest.approx(64 / CROP**2)
    (share, _), = mouth_attention_share({"m": maps}, [(0, 0, 8, 8), (88, 88, 96, 96)]).values()
    assert share == pytest.approx(1.0)
    with pytest.raises(ValueError, match="3 mouth boxes for 2 faces"):
        mouth_attention_share({"m": maps}, [(0, 0, 8, 8)] * 3)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    import torch

    from attnwav2lip.checkpoints import save_model
    from attnwav2lip.models import Generator
    from attnwav2lip.synth.corpus import CorpusConfig, read_corpus_manifest, write_corpus

    root = tmp_path_factory.mktemp("corpus")
    write_corpus(CorpusConfig(clips=1, min_seconds=1.0, max_seconds=1.5, size=160), root, progress=False)
    record = read_corpus_manifest(root)[0]
    torch.manual_seed(0)
    save_model(Generator(width=0.125), root / "g.safetensors")
    return {"video": root / record["video"], "truth": root / record["truth"], "generator": root / "g.safetensors"}


@pytest.mark.slow
def test_attention_maps_with_the_true_mouth(clip: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from attnwav2lip.cli import main

    argv = ["attention-maps", "--checkpoint", str(clip["generator"]), "--face", str(clip["video"]),
            "--synthtalk-truth", str(clip["truth"]), "--frames", "3", "-o", str(tmp_path / "maps.png")]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "true SynthTalk mouth box per row" in out
    rows = [line.split() for line in out.splitlines() if line.startswith(("encoder.", "decoder."))]
    assert len(rows) == 8 and all(0 < float(r[1]) < 1 and 0 < float(r[2]) < 0.2 for r in rows)

    from attnwav2lip.viz import attention_report

    report = attention_report(clip["generator"], clip["video"], frames=3, synthtalk_truth=clip["truth"])
    assert len(report.mouth_boxes) == 3
    for x1, y1, x2, y2 in report.mouth_boxes:  # lips: centred, below the middle of the padded face crop
        assert 20 < x1 < CROP / 2 < x2 < 76 and CROP / 2 - 8 < y1 < y2 < 80
    area = np.mean([(x2 - x1) * (y2 - y1) for x1, y1, x2, y2 in report.mouth_boxes]) / CROP**2
    assert all(a == pytest.approx(area) for _, a in report.shares.values())


def test_truth_file_misuse_is_a_user_error(clip: dict[str, Path], tmp_path: Path) -> None:
    from attnwav2lip.synth.lip_boxes import clip_lip_boxes
    from attnwav2lip.viz import attention_report

    with pytest.raises(ConfigError, match="not both"):
        attention_report(clip["generator"], clip["video"], mouth_box=(22, 54, 74, 78), synthtalk_truth=clip["truth"])
    with pytest.raises(ConfigError, match="not a SynthTalk truth file"):
        clip_lip_boxes(clip["generator"])
    with pytest.raises(ConfigError, match="not a SynthTalk truth file"):
        clip_lip_boxes(tmp_path / "missing.npz")
