"""Checkpoints: original formats (zip, legacy, module.), BGR->RGB, the own format, safety, bad files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
from torch import nn

from attnwav2lip.checkpoints import (
    init_generator_from_wav2lip,
    load_model,
    save_model,
    swap_colour_order,
)
from attnwav2lip.errors import CheckpointError
from attnwav2lip.faces.s3fd import load_s3fd
from attnwav2lip.models import (
    DiscriminatorConfig,
    EvaluatorConfig,
    ExpertConfig,
    Generator,
    GeneratorConfig,
    LipSyncExpert,
    QualityDiscriminator,
    SyncNetEvaluator,
)
from attnwav2lip.train.state import load_state, save_checkpoint

# docs/models.md: the only tensors the BGR -> RGB conversion may touch.
COLOUR_KEYS = {
    "generator": {"face_encoder_blocks.0.0.conv_block.0.weight", "output_block.1.weight", "output_block.1.bias"},
    "expert": {"face_encoder.0.conv_block.0.weight"},
    "discriminator": {"face_encoder_blocks.0.0.conv_block.0.weight"},
    "evaluator": {"netcnnlip.0.weight"},
}
CLASSES = {"generator": Generator, "expert": LipSyncExpert, "discriminator": QualityDiscriminator, "evaluator": SyncNetEvaluator}


def tiny_optimizer_state() -> dict:
    """A real Adam state_dict (tensors, ints, floats, lists), the shape of the originals' "optimizer" entry."""
    layer = nn.Linear(3, 2)
    optimizer = torch.optim.Adam(layer.parameters(), lr=1e-4)
    layer(torch.rand(4, 3)).sum().backward()
    optimizer.step()
    return optimizer.state_dict()


def write_original(model: nn.Module, path: Path, *, prefix: bool, legacy: bool, batches_tracked: bool = True) -> dict[str, torch.Tensor]:
    """Save ``model`` as the original repositories do; return the state dict written (unprefixed)."""
    state = {k: v for k, v in model.state_dict().items() if batches_tracked or not k.endswith("num_batches_tracked")}
    stored = {("module." if prefix else "") + k: v for k, v in state.items()}
    if model.kind != "evaluator":  # syncnet_v2.model is a plain state dict
        stored = {"state_dict": stored, "optimizer": tiny_optimizer_state(), "global_step": 7, "global_epoch": 1}
    torch.save(stored, path, _use_new_zipfile_serialization=not legacy)
    return state


def randomise_norms(model: nn.Module) -> nn.Module:
    """Non-trivial BatchNorm statistics, so eval-mode comparisons exercise them."""
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    return model.eval()


def assert_one_line_about(exc: pytest.ExceptionInfo[CheckpointError], path: Path) -> None:
    message = str(exc.value)
    assert "\n" not in message and path.name in message


# --- original formats at full width -------------------------------------------------------------

@pytest.fixture(scope="module")
def originals() -> dict[str, nn.Module]:
    # the original generator is the attention-free Wav2Lip
    return {kind: cls(attention="none") if kind == "generator" else cls() for kind, cls in CLASSES.items()}


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
@pytest.mark.parametrize("kind", list(CLASSES))
@pytest.mark.slow
def test_original_formats_load(originals: dict[str, nn.Module], tmp_path: Path, kind: str, legacy: bool) -> None:
    path = tmp_path / ("syncnet_v2.model" if kind == "evaluator" else f"{kind}.pth")
    # zip files carry DataParallel's prefix; legacy evaluator files predate num_batches_tracked.
    written = write_original(originals[kind], path, prefix=not legacy, legacy=legacy, batches_tracked=not (legacy and kind == "evaluator"))
    if kind == "generator":
        assert len(written) == 352
    model = load_model(path, kind=kind)
    assert type(model) is CLASSES[kind] and not model.training
    assert model.config == {"generator": GeneratorConfig(attention="none", width=1.0, mel_offset=0), "expert": ExpertConfig(),
                            "discriminator": DiscriminatorConfig(), "evaluator": EvaluatorConfig()}[kind]
    loaded = model.state_dict()
    for key, tensor in swap_colour_order(kind, written).items():
        assert torch.equal(loaded[key], tensor), key
    changed = [k for k in written if not torch.equal(loaded[k], written[k])]
    assert set(changed) == COLOUR_KEYS[kind]


# --- BGR -> RGB: the converted network on RGB computes what the original computes on BGR ---------

@pytest.mark.slow
def test_generator_bgr_to_rgb(tmp_path: Path) -> None:
    original = randomise_norms(Generator(width=0.125, attention="none"))
    write_original(original, tmp_path / "wav2lip.pth", prefix=True, legacy=False)
    converted = load_model(tmp_path / "wav2lip.pth")
    mels, faces_bgr = torch.rand(2, 1, 80, 16), torch.rand(2, 6, 96, 96)
    with torch.no_grad():
        out_bgr = original(mels, faces_bgr)
        out_rgb = converted(mels, faces_bgr[:, [2, 1, 0, 5, 4, 3]])
    torch.testing.assert_close(out_rgb, out_bgr[:, [2, 1, 0]], atol=1e-5, rtol=1e-5)
    assert not torch.allclose(out_rgb, out_bgr, atol=1e-3)


def test_expert_bgr_to_rgb(tmp_path: Path) -> None:
    original = randomise_norms(LipSyncExpert(width=0.125))
    write_original(original, tmp_path / "lipsync_expert.pth", prefix=False, legacy=True)
    converted = load_model(tmp_path / "lipsync_expert.pth")
    mels, faces_bgr = torch.rand(2, 1, 80, 16), torch.rand(2, 15, 48, 96)
    rgb_order = [3 * f + c for f in range(5) for c in (2, 1, 0)]
    with torch.no_grad():
        for got, want in zip(converted(mels, faces_bgr[:, rgb_order]), original(mels, faces_bgr)):
            torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def test_discriminator_bgr_to_rgb(tmp_path: Path) -> None:
    original = randomise_norms(QualityDiscriminator(width=0.125))
    write_original(original, tmp_path / "disc.pth", prefix=False, legacy=False)
    converted = load_model(tmp_path / "disc.pth")
    faces_bgr = torch.rand(2, 3, 2, 96, 96)
    with torch.no_grad():
        torch.testing.assert_close(converted(faces_bgr[:, [2, 1, 0]]), original(faces_bgr), atol=1e-5, rtol=1e-5)


def test_evaluator_bgr_to_rgb(tmp_path: Path) -> None:
    original = randomise_norms(SyncNetEvaluator(width=0.125))
    write_original(original, tmp_path / "syncnet_v2.model", prefix=False, legacy=True)
    converted = load_model(tmp_path / "syncnet_v2.model")
    assert converted.config == EvaluatorConfig(width=0.125)
    video_bgr, mfcc = torch.rand(2, 3, 5, 224, 224) * 255, torch.randn(2, 1, 13, 20)
    with torch.no_grad():
        torch.testing.assert_close(converted.forward_video(video_bgr[:, [2, 1, 0]]), original.forward_video(video_bgr), atol=1e-4, rtol=1e-5)
        torch.testing.assert_close(converted.forward_audio(mfcc), original.forward_audio(mfcc))


def test_colour_swap_is_its_own_inverse() -> None:
    state = Generator(width=0.125, attention="none").state_dict()
    back = swap_colour_order("generator", swap_colour_order("generator", state))
    assert all(torch.equal(back[k], v) for k, v in state.items())


# --- the project's own format ---------------------------------------------------------------------

@pytest.mark.parametrize("model", [
    Generator(width=0.125, attention="both", spatial_kernel=3, spatial_norm=True, mel_offset=-1),
    Generator(width=0.125, attention="spatial"),
    LipSyncExpert(width=0.125),
    QualityDiscriminator(width=0.125),
    SyncNetEvaluator(width=0.125, embedding_dim=64),
], ids=lambda m: f"{m.kind}-{getattr(m.config, 'attention', '')}")
@pytest.mark.slow
def test_own_format_round_trip(tmp_path: Path, model: nn.Module) -> None:
    from safetensors import safe_open

    randomise_norms(model)
    path = tmp_path / "model.safetensors"
    save_model(model, path)
    assert os.listdir(tmp_path) == ["model.safetensors"]  # atomic: no temporary left behind
    with safe_open(str(path), framework="pt") as file:
        metadata = file.metadata()
    assert metadata["kind"] == model.kind and json.loads(metadata["config"])["width"] == 0.125
    loaded = load_model(path)
    assert type(loaded) is type(model) and loaded.config == model.config and not loaded.training
    for key, tensor in model.state_dict().items():  # stored as is: no colour conversion
        assert torch.equal(loaded.state_dict()[key], tensor), key


def test_kind_demand(tmp_path: Path) -> None:
    path = tmp_path / "x.pth"
    write_original(LipSyncExpert(width=0.125), path, prefix=False, legacy=False)
    with pytest.raises(CheckpointError, match=r"^x\.pth is a lip-sync expert checkpoint, not a generator$"):
        load_model(path, kind="generator")
    save_model(QualityDiscriminator(width=0.125), tmp_path / "d.safetensors")
    with pytest.raises(CheckpointError, match="d.safetensors is a quality discriminator checkpoint, not an evaluation SyncNet"):
        load_model(tmp_path / "d.safetensors", kind="evaluator")


# --- initialising an attention generator from Wav2Lip ---------------------------------------------

def test_init_generator_from_wav2lip(tmp_path: Path) -> None:
    wav2lip = Generator(width=0.25, attention="none")
    written = write_original(wav2lip, tmp_path / "wav2lip.pth", prefix=True, legacy=False)
    attn = Generator(width=0.25, attention="both")
    fresh = {k: v.clone() for k, v in attn.state_dict().items()}
    not_loaded = init_generator_from_wav2lip(attn, tmp_path / "wav2lip.pth")
    assert set(not_loaded) == set(fresh) - set(written)
    assert all(k.startswith(("encoder_attention.", "decoder_attention.")) for k in not_loaded)
    state = attn.state_dict()
    assert all(torch.equal(state[k], v) for k, v in swap_colour_order("generator", written).items())
    assert all(torch.equal(state[k], fresh[k]) for k in not_loaded)

    save_model(attn, tmp_path / "attn.safetensors")
    with pytest.raises(CheckpointError, match="lacks"):
        init_generator_from_wav2lip(Generator(width=0.25, attention="none"), tmp_path / "attn.safetensors")
    with pytest.raises(CheckpointError, match="has shape"):
        init_generator_from_wav2lip(Generator(width=0.125, attention="none"), tmp_path / "wav2lip.pth")


# --- safety and bad files -------------------------------------------------------------------------

class _WritesMarker:
    """A pickle payload that would create a file if it were ever unpickled unsafely."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (Path.touch, (self.marker,))


@pytest.mark.parametrize(("legacy", "protocol"), [(False, 2), (True, 2), (True, 0)], ids=["zip", "legacy", "legacy-p0"])
def test_unsafe_pickle_is_refused_without_running(tmp_path: Path, legacy: bool, protocol: int) -> None:
    """Both formats say the same, and never pass on torch's advice to load with weights_only=False."""
    marker = tmp_path / "MARKER"
    path = tmp_path / "state.pt"
    torch.save({"state_dict": {"w": torch.zeros(1)}, "x": _WritesMarker(marker)}, path,
               _use_new_zipfile_serialization=not legacy, pickle_protocol=protocol)
    assert not marker.exists()
    loaders = ((load_state, tmp_path), (load_s3fd, path)) + (((load_model, path),) if protocol == 2 else ())
    for load, target in loaders:  # load_model sees no pickle in a protocol-0 file: "not a checkpoint"
        with pytest.raises(CheckpointError, match=r"refused: this checkpoint would run code \(.+\)") as exc:
            load(target)
        assert_one_line_about(exc, path)
        assert "weights_only" not in str(exc.value) and "corrupt" not in str(exc.value)
    assert not marker.exists()


def test_bad_files(tmp_path: Path) -> None:
    good = Generator(width=0.125, attention="none")
    write_original(good, tmp_path / "zip.pth", prefix=False, legacy=False)
    write_original(good, tmp_path / "legacy.pth", prefix=False, legacy=True)
    save_model(good, tmp_path / "own.safetensors")
    cases = {}
    for name in ("zip.pth", "legacy.pth", "own.safetensors"):
        data = (tmp_path / name).read_bytes()
        cases[f"cut-{name}"] = data[: len(data) // 2]
    cases["empty.pth"] = b""
    cases["notes.pth"] = b"these are not weights\n"
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(2)}, str(tmp_path / "foreign.safetensors"))
    torch.save({"state_dict": {"encoder.weight": torch.zeros(2)}}, tmp_path / "other_net.pth")
    torch.save({"epoch": 3}, tmp_path / "no_weights.pth")
    (tmp_path / "folder.pth").mkdir()
    for name in [*cases, "foreign.safetensors", "other_net.pth", "no_weights.pth", "folder.pth", "missing.pth"]:
        with pytest.raises(CheckpointError) as exc:
            load_model(tmp_path / name)
        assert_one_line_about(exc, tmp_path / name)


def test_training_state_round_trip(tmp_path: Path) -> None:
    state = {"optimizer": tiny_optimizer_state(), "step": 12, "rng": torch.get_rng_state()}
    save_checkpoint(tmp_path / "step_000000012", {}, state)
    loaded = load_state(tmp_path / "step_000000012")
    assert loaded["step"] == 12 and torch.equal(loaded["rng"], state["rng"])
    assert loaded["optimizer"]["param_groups"] == state["optimizer"]["param_groups"]
