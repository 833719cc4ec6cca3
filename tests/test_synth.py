"""SynthTalk speech and visemes: timelines, viseme coverage of every emitted phoneme, closures."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("espeakng_loader")

from attnwav2lip.errors import AttnWav2LipError  # noqa: E402
from attnwav2lip.synth import sentences, speech, visemes  # noqa: E402
from attnwav2lip.synth.mouth import LIP_TEETH, OPEN, PRESS, REST  # noqa: E402

BROAD = (
    "The quick brown fox jumps over the lazy dog. Pack my box with five dozen liquor jugs! Sphinx of black quartz, "
    "judge my vow. Thoughtful mothers measure the beige azure rouge of a genre; why would you hear the bird near "
    "her poor tour? Ahoy, the choir sang in Bach's loch, joyous, oily boy. Yes, the ewe and the yacht, hourglass, "
    "fire, player, lawyer, caught, cot, bath, palm, nurse, square, cure, north, force, goat, goose, foot, strut, "
    "happy, button, bottle, rhythm, hmm, uh-huh, 1234. "
)


@pytest.fixture(scope="module")
def utterance() -> speech.Utterance:
    return speech.speak("Bob, the plump monkey, wants five fish.", "en-us+f2", rate=160, lead_silence=0.3)


def test_timeline_is_contiguous_monotone_and_inside_the_audio(utterance: speech.Utterance) -> None:
    phones = utterance.phones
    assert utterance.sample_rate == 16_000 and utterance.audio.dtype == np.float32
    assert phones[0].start == 0.0 and phones[0].phoneme == speech.SILENCE  # the lead silence
    assert phones[0].end == pytest.approx(0.3, abs=0.03)
    for a, b in zip(phones, phones[1:]):
        assert a.start < a.end == b.start
    assert phones[-1].end == pytest.approx(utterance.duration)
    assert {"b", "m", "f"} <= {p.phoneme for p in phones}
    # speech energy sits inside the non-silent phones
    voiced = [p for p in phones if p.phoneme != speech.SILENCE]
    t0, t1 = voiced[0].start, voiced[-1].end
    rms = float(np.sqrt(np.mean(utterance.audio[int(t0 * 16000):int(t1 * 16000)] ** 2)))
    assert rms > 0.01 and np.abs(utterance.audio[: int(0.25 * 16000)]).max() == 0.0


def test_save_load_round_trip_is_exact(utterance: speech.Utterance, tmp_path) -> None:
    utterance.save(tmp_path / "a.wav", tmp_path / "a.json")
    back = speech.Utterance.load(tmp_path / "a.wav", tmp_path / "a.json")
    assert np.array_equal(back.audio, utterance.audio) and back.phones == utterance.phones
    assert (back.text, back.voice, back.rate) == (utterance.text, utterance.voice, utterance.rate)


def test_cut_at_a_clause_keeps_text_audio_and_timeline_consistent() -> None:
    text = "Bob buys a fish, the cow moves the moon. The whale waves at a purple baby, again and again."
    full = speech.speak(text, "en-gb-x-rp+m1")
    cut = speech.speak(text, "en-gb-x-rp+m1", max_seconds=full.duration * 0.6)
    assert cut.duration < full.duration * 0.6 and text.startswith(cut.text) and cut.text != text
    assert cut.phones[-1].end == pytest.approx(cut.duration)
    padded = speech.pad_to(cut, len(cut.audio) + 1000)
    assert len(padded.audio) == len(cut.audio) + 1000 and padded.phones[-1].end == pytest.approx(padded.duration)


def test_every_phoneme_the_voices_emit_has_a_viseme() -> None:
    words = " ".join(sentences.ADJECTIVES + sentences.NOUNS + sentences.VERBS + sentences.ADVERBS)
    seen: set[str] = set()
    for k, language in enumerate(speech.LANGUAGES):
        voice = f"{language}+{speech.VARIANTS[k % len(speech.VARIANTS)]}"
        seen |= {p.phoneme for p in speech.speak(BROAD + words, voice).phones}
    assert len(seen) > 80
    for phoneme in seen:
        assert all(s in visemes.VISEMES for s in visemes.segments(phoneme))  # raises on a gap


def test_bad_voice_and_empty_text_are_user_errors() -> None:
    from attnwav2lip.errors import ConfigError

    with pytest.raises(ConfigError, match="no voice"):
        speech.speak("hello", "xx-nonexistent")
    with pytest.raises(ConfigError, match="empty"):
        speech.speak("  ")


def test_unknown_symbol_is_an_error_not_a_fallback() -> None:
    with pytest.raises(visemes.UnknownPhonemeError) as error:
        visemes.segments("ʘ")
    assert isinstance(error.value, AttnWav2LipError) and str(error.value).startswith("no viseme")
    assert visemes.segments("ˈaɪə") == ["a", "ɪ", "ə"]
    assert visemes.segments("t̪") == ["t"] and visemes.segments("dʒ") == ["dʒ"]


def test_mouth_closed_in_silence_and_on_bilabials(utterance: speech.Utterance) -> None:
    segs = visemes.split(utterance.phones)
    for seg in segs:
        mid = np.array([(seg.start + seg.end) / 2])
        shape = visemes.trajectory(utterance.phones, mid)[0]
        if seg.symbol in ("p", "b", "m"):
            assert shape[OPEN] == pytest.approx(0, abs=1e-6) and shape[PRESS] == pytest.approx(1, abs=1e-6)
        elif seg.symbol in ("f", "v"):
            assert shape[LIP_TEETH] == pytest.approx(1, abs=1e-6)
        elif seg.symbol == speech.SILENCE and seg.end - seg.start > 0.2:
            assert np.allclose(shape, REST, atol=1e-6)
    track = visemes.mouth_track(utterance.phones, 25, int(utterance.duration * 25))
    assert track.shape == (int(utterance.duration * 25), 6) and np.allclose(track[0], REST)
    assert track[:, OPEN].max() > 0.4  # it does open for vowels


def test_trajectory_is_smooth_and_any_fps(utterance: speech.Utterance) -> None:
    fine = visemes.trajectory(utterance.phones, np.arange(0, utterance.duration, 0.001))
    assert np.abs(np.diff(fine[:, OPEN])).max() < 0.08  # no jumps at 1 ms
    at30 = visemes.mouth_track(utterance.phones, 30, 40)
    assert np.allclose(at30[3], visemes.trajectory(utterance.phones, np.array([0.1]))[0])


def test_sentences_are_deterministic() -> None:
    a = sentences.sentence(np.random.default_rng(5), 3)
    assert a == sentences.sentence(np.random.default_rng(5), 3) and a[0].isupper() and a[-1] in ".!?"


def test_import_synth_stays_light() -> None:
    code = "import sys, attnwav2lip.synth; print(any(m in sys.modules for m in ('cv2', 'torch', 'av', 'scipy')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
