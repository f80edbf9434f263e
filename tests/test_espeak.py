"""Tests for the ctypes wrapper around libespeak-ng."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from edgeasr.synth.espeak import EspeakSynthesizer, list_english_voices, list_variants

TEXT = "turn on the kitchen lights"


@pytest.fixture(scope="module")
def synth() -> EspeakSynthesizer:
    return EspeakSynthesizer()


def _f0(audio: np.ndarray, sample_rate: int) -> float:
    """Median autocorrelation pitch (Hz) over loud 40 ms frames."""
    frame = int(0.04 * sample_rate)
    lo, hi = int(sample_rate / 400), int(sample_rate / 60)
    frames = [audio[i:i + frame] for i in range(0, len(audio) - frame, frame)]
    peak = max(float(np.abs(f).max()) for f in frames)
    pitches = []
    for f in frames:
        if np.abs(f).max() < 0.3 * peak:
            continue
        f = f - f.mean()
        ac = np.correlate(f, f, mode="full")[frame - 1:]
        pitches.append(sample_rate / (lo + int(np.argmax(ac[lo:hi]))))
    return float(np.median(pitches))


def test_library_basics(synth: EspeakSynthesizer) -> None:
    assert synth.sample_rate == 22050
    assert EspeakSynthesizer()._lib is synth._lib  # one initialised library per process
    voices = list_english_voices()
    for accent in ("en", "en-us", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-us-nyc"):
        assert accent in voices
    assert "en-shaw" not in voices and all(v.startswith("en") for v in voices)
    variants = list_variants()
    assert {"m3", "f1", "klatt"} <= set(variants) and len(variants) > 50


def test_synthesis_is_speech_like(synth: EspeakSynthesizer) -> None:
    audio = synth.synthesize(TEXT)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert np.abs(audio).max() <= 1.0
    assert 0.05 < np.abs(audio).max()
    assert np.sqrt(np.mean(audio**2)) > 0.01
    assert 0.6 < len(audio) / synth.sample_rate < 3.0


def test_duration_follows_text_and_rate(synth: EspeakSynthesizer) -> None:
    short = synth.synthesize("lights on")
    long = synth.synthesize(TEXT + " and set the thermostat to twenty one degrees")
    assert len(long) > 2 * len(short)
    slow = synth.synthesize(TEXT, rate=120)
    fast = synth.synthesize(TEXT, rate=260)
    assert len(fast) < 0.75 * len(slow)


def test_variants_and_pitch_change_the_voice(synth: EspeakSynthesizer) -> None:
    sr = synth.sample_rate
    male = synth.synthesize(TEXT, "en-us", variant="m1")
    female = synth.synthesize(TEXT, "en-us+f1")  # variant given inside the voice name
    assert not np.array_equal(male, female)
    assert _f0(female, sr) > 1.3 * _f0(male, sr)
    low = synth.synthesize(TEXT, "en-us+m3", pitch=20)
    high = synth.synthesize(TEXT, "en-us+m3", pitch=90)
    assert _f0(high, sr) > 1.15 * _f0(low, sr)


def test_accents_all_speak(synth: EspeakSynthesizer) -> None:
    for accent in list_english_voices():
        audio = synth.synthesize("two four six", accent)
        assert np.abs(audio).max() > 0.05, accent


def test_bad_arguments_raise(synth: EspeakSynthesizer) -> None:
    with pytest.raises(ValueError, match="unknown espeak voice"):
        synth.synthesize(TEXT, "xx-nowhere")
    with pytest.raises(ValueError, match="unknown espeak variant"):
        synth.synthesize(TEXT, "en-us", variant="no-such-variant")
    with pytest.raises(ValueError, match="unknown espeak variant"):
        synth.synthesize(TEXT, "en-us+no-such-variant")
    with pytest.raises(ValueError, match="rate"):
        synth.synthesize(TEXT, rate=10)
    with pytest.raises(ValueError, match="pitch"):
        synth.synthesize(TEXT, pitch=101)


def test_threads_do_not_mix_audio(synth: EspeakSynthesizer) -> None:
    texts = ["one", "turn on the kitchen lights and play some jazz in the living room"]
    results: dict[int, list[int]] = {0: [], 1: []}

    def work(i: int) -> None:
        for _ in range(5):
            results[i].append(len(synth.synthesize(texts[i])))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert max(results[0]) < 0.5 * min(results[1])
    for lengths in results.values():
        assert max(lengths) - min(lengths) < 0.05 * max(lengths)
