"""LSE-D / LSE-C against a literal transcription of syncnet_python's SyncNetInstance.evaluate."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
import python_speech_features
import torch

from attnwav2lip.errors import AttnWav2LipError
from attnwav2lip.metrics import SyncScores, jpeg_roundtrip, lse_scores


class TinyEvaluator(torch.nn.Module):
    """A small deterministic stand-in with the evaluation SyncNet's two entry points."""

    def __init__(self, dim: int = 32) -> None:
        super().__init__()
        self.video = torch.nn.Linear(3 * 5 * 8 * 8, dim)
        self.audio = torch.nn.Linear(13 * 20, dim)

    def forward_video(self, x: torch.Tensor) -> torch.Tensor:
        pooled = torch.nn.functional.adaptive_avg_pool3d(x / 255.0, (5, 8, 8))
        return self.video(pooled.flatten(1))

    def forward_audio(self, mfcc: torch.Tensor) -> torch.Tensor:
        return self.audio(mfcc.flatten(1) / 10.0)


def reference_evaluate(images: list[np.ndarray], audio: np.ndarray, model, vshift: int = 15, batch_size: int = 20):
    """syncnet_python's evaluate(), transcribed line by line (files and ffmpeg replaced by arrays)."""

    def calc_pdist(feat1, feat2, vshift=10):
        win_size = vshift * 2 + 1
        feat2p = torch.nn.functional.pad(feat2, (0, 0, vshift, vshift))
        dists = []
        for i in range(0, len(feat1)):
            dists.append(
                torch.nn.functional.pairwise_distance(feat1[[i], :].repeat(win_size, 1), feat2p[i : i + win_size, :])
            )
        return dists

    images = [cv2.resize(image, (224, 224)) for image in images]  # Wav2Lip's "HARD CODED" resize
    im = np.stack(images, axis=3)
    im = np.expand_dims(im, axis=0)
    im = np.transpose(im, (0, 3, 4, 1, 2))
    imtv = torch.from_numpy(im.astype(float)).float()

    mfcc = zip(*python_speech_features.mfcc(audio, 16000))
    mfcc = np.stack([np.array(i) for i in mfcc])
    cc = np.expand_dims(np.expand_dims(mfcc, axis=0), axis=0)
    cct = torch.from_numpy(cc.astype(float)).float()

    min_length = min(len(images), math.floor(len(audio) / 640))
    lastframe = min_length - 5
    im_feat = []
    cc_feat = []
    with torch.no_grad():
        for i in range(0, lastframe, batch_size):
            im_batch = [imtv[:, :, vframe : vframe + 5, :, :] for vframe in range(i, min(lastframe, i + batch_size))]
            im_in = torch.cat(im_batch, 0)
            im_feat.append(model.forward_video(im_in).data.cpu())
            cc_batch = [cct[:, :, :, vframe * 4 : vframe * 4 + 20] for vframe in range(i, min(lastframe, i + batch_size))]
            cc_in = torch.cat(cc_batch, 0)
            cc_feat.append(model.forward_audio(cc_in).data.cpu())
    im_feat = torch.cat(im_feat, 0)
    cc_feat = torch.cat(cc_feat, 0)

    dists = calc_pdist(im_feat, cc_feat, vshift=vshift)
    mdist = torch.mean(torch.stack(dists, 1), 1)
    minval, minidx = torch.min(mdist, 0)
    offset = vshift - minidx
    conf = torch.median(mdist) - minval
    return int(offset), float(conf), float(minval), mdist.numpy(), len(im_feat)


def _clip(num_frames: int, num_samples: int, size: int = 224) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    frames = rng.integers(0, 256, (num_frames, size, size, 3), dtype=np.uint8)
    audio = (rng.standard_normal(num_samples) * 3000).astype(np.int16)
    return frames, audio


def _assert_matches(scores: SyncScores, reference) -> None:
    offset, conf, minval, mdist, windows = reference
    assert scores.offset == offset
    assert scores.num_windows == windows
    np.testing.assert_allclose(scores.curve, mdist, rtol=1e-5, atol=1e-5)
    assert scores.lse_d == pytest.approx(minval, rel=1e-5, abs=1e-5)
    assert scores.lse_c == pytest.approx(conf, rel=1e-4, abs=1e-5)


@pytest.fixture(scope="module")
def tiny() -> TinyEvaluator:
    torch.manual_seed(3)
    return TinyEvaluator().eval()


@pytest.fixture(scope="module", params=["tiny", "syncnet"])
def evaluator(request) -> torch.nn.Module:
    """A tiny stand-in, and the real evaluation SyncNet (narrow, random init, 224x224 input)."""
    torch.manual_seed(3)
    if request.param == "tiny":
        return TinyEvaluator().eval()
    from attnwav2lip.models import SyncNetEvaluator

    return SyncNetEvaluator(width=0.0625, embedding_dim=128).eval()


@pytest.mark.parametrize(
    ("num_frames", "seconds", "size"),
    [
        (30, 1.2, 224),  # equal lengths
        (40, 0.9, 224),  # audio shorter than video: audio sets the length
        (12, 2.0, 96),  # video shorter than audio; frames resized to 224
        (6, 0.24, 224),  # the shortest scorable clip: exactly one window
    ],
)
def test_matches_reference(evaluator, num_frames: int, seconds: float, size: int) -> None:
    frames, audio = _clip(num_frames, int(seconds * 16000), size)
    scores = lse_scores(frames, audio, evaluator, vshift=15, batch_size=7)
    expected = reference_evaluate(list(frames), audio, evaluator, vshift=15, batch_size=20)
    assert len(scores.curve) == 31
    _assert_matches(scores, expected)


@pytest.mark.slow
def test_other_vshift_and_batch_size_do_not_change_results(tiny) -> None:
    frames, audio = _clip(26, 16000)
    a = lse_scores(frames, audio, tiny, vshift=4, batch_size=1)
    b = lse_scores(frames, audio, tiny, vshift=4, batch_size=64)
    assert len(a.curve) == 9
    _assert_matches(a, reference_evaluate(list(frames), audio, tiny, vshift=4))
    np.testing.assert_allclose(a.curve, b.curve, rtol=1e-6)


def test_float_audio_is_read_as_int16(tiny) -> None:
    frames, audio = _clip(20, 12800)
    as_float = audio.astype(np.float32) / 32768.0
    assert lse_scores(frames, as_float, tiny) == lse_scores(frames, audio, tiny)


def test_finds_a_planted_offset() -> None:
    """Video embeddings equal to the audio embeddings shifted by k frames give offset k."""

    class Shifted(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.proj = torch.nn.Linear(13 * 20, 16)

        def forward_audio(self, mfcc: torch.Tensor) -> torch.Tensor:
            return self.proj(mfcc.flatten(1) / 10.0)

        def forward_video(self, x: torch.Tensor) -> torch.Tensor:
            # each frame carries its own index in pixel (0, 0): recover the window start
            starts = x[:, 0, 0, 0, 0].long()
            return torch.stack([self.audio_embedding[int(s) + 3] for s in starts])

    rng = np.random.default_rng(0)
    audio = (rng.standard_normal(16000 * 2) * 3000).astype(np.int16)
    frames = np.zeros((40, 224, 224, 3), np.uint8)
    frames[:, 0, 0, 0] = np.arange(40)
    model = Shifted()
    from attnwav2lip.metrics.lse import mfcc_matrix

    cct = torch.from_numpy(mfcc_matrix(audio))
    with torch.no_grad():
        model.audio_embedding = model.forward_audio(
            torch.stack([cct[:, 4 * v : 4 * v + 20] for v in range(len(cct[0]) // 4 - 5)]).unsqueeze(1)
        )
    scores = lse_scores(frames, audio, model)
    # video window v looks like audio window v + 3: audio must be shifted by -3 (offset = vshift - argmin)
    assert scores.offset == -3
    assert scores.lse_d == pytest.approx(min(scores.curve))
    assert scores.lse_c > 0


def test_too_short_is_a_clear_error(tiny) -> None:
    frames, audio = _clip(5, 16000)
    with pytest.raises(AttnWav2LipError, match="at least 6 frames"):
        lse_scores(frames, audio, tiny)
    frames, audio = _clip(30, 3839)  # 5.99 frames of audio
    with pytest.raises(AttnWav2LipError, match="too short"):
        lse_scores(frames, audio, tiny)


def test_jpeg_roundtrip_is_lossy_but_close(tiny) -> None:
    rng = np.random.default_rng(0)
    base = cv2.GaussianBlur(rng.integers(0, 256, (96, 96, 3), dtype=np.uint8), (9, 9), 3)
    frames = np.stack([np.roll(base, k, axis=1) for k in range(12)])
    decoded = jpeg_roundtrip(frames)
    assert decoded.shape == frames.shape and decoded.dtype == np.uint8
    error = np.abs(decoded.astype(int) - frames).mean()
    assert 0 < error < 8
    audio = _clip(12, 12 * 640)[1]
    assert lse_scores(frames, audio, tiny, jpeg_roundtrip=True) == lse_scores(decoded, audio, tiny)


@pytest.mark.slow
def test_scoring_hands_a_training_evaluator_back_in_training_mode() -> None:
    """Scoring runs the evaluator in eval mode without switching a caller's training network off."""
    torch.manual_seed(3)
    training = TinyEvaluator().train()
    frames, audio = _clip(20, 12800)
    scores = lse_scores(frames, audio, training, vshift=4)
    assert training.training
    _assert_matches(scores, reference_evaluate(list(frames), audio, training.eval(), vshift=4))


def test_the_first_releases_name_still_works() -> None:
    import attnwav2lip

    assert attnwav2lip.sync_scores is attnwav2lip.lse_scores is lse_scores
