"""Corpus audio preprocessing (edgeasr.audio.preprocess / filters / loudness / silence) on
synthetic signals."""

from __future__ import annotations

import pickle

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf

from edgeasr.audio.filters import highpass, spectral_gate
from edgeasr.audio.loudness import normalize_loudness
from edgeasr.audio.preprocess import (
    PreprocessConfig,
    PreprocessError,
    Preprocessor,
    standardize,
    write_pcm16,
)
from edgeasr.audio.silence import speech_regions, trim_bounds
from edgeasr_device.audio import load_audio
from edgeasr_device.errors import ArtifactError
from edgeasr_device.vocab import Vocabulary

RATE = 16000


def tone(freq: float, seconds: float, amplitude: float = 0.5, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(round(seconds * rate))) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(round(seconds * RATE)), dtype=np.float32)


def noise(seconds: float, std: float, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).normal(0, std, int(round(seconds * RATE)))).astype(np.float32)


def tone_fit(y: np.ndarray, freq: float, rate: int = RATE) -> tuple[float, float]:
    """(amplitude of the ``freq`` sinusoid in ``y``, power of what is left), least squares."""
    t = np.arange(y.shape[0]) / rate
    basis = np.stack([np.sin(2 * np.pi * freq * t), np.cos(2 * np.pi * freq * t)], axis=1)
    coef, *_ = np.linalg.lstsq(basis, y.astype(np.float64), rcond=None)
    residual = y - basis @ coef
    return float(np.hypot(*coef)), float(np.mean(residual ** 2))


def db(ratio: float) -> float:
    return 20 * np.log10(ratio)


# --------------------------------------------------------------------------- config

def test_config_defaults_only_standardise():
    cfg = PreprocessConfig()
    assert cfg.sample_rate == 16000
    assert not (cfg.trim or cfg.highpass or cfg.denoise or cfg.loudness)
    assert cfg.min_seconds is None and cfg.max_seconds is None


def test_config_dict_round_trip_and_unknown_keys():
    cfg = PreprocessConfig.from_dict({"trim": True, "max_seconds": 10, "highpass_hz": 100})
    assert cfg.max_seconds == 10.0 and isinstance(cfg.max_seconds, float)
    assert PreprocessConfig.from_dict(cfg.to_dict()) == cfg
    assert PreprocessConfig.from_dict(None) == PreprocessConfig()
    with pytest.raises(PreprocessError,
                       match=r"preprocess: unknown option\(s\) \['trim_db'\]; known: .*'trim'"):
        PreprocessConfig.from_dict({"trim_db": -40})


@pytest.mark.parametrize("options,message", [
    ({"trim": "yes"}, "trim must be true or false"),
    ({"too_long": "cut"}, "too_long must be one of drop, split"),
    ({"sample_rate": 16000.5}, "sample_rate must be a whole number"),
    ({"max_seconds": "10"}, "max_seconds must be a number or null"),
    ({"min_seconds": 5, "max_seconds": 2}, "min_seconds must be smaller"),
    ({"highpass_hz": 9000}, "highpass_hz"),
    ({"trim_threshold_db": 10}, "relative to the loudest"),
])
def test_config_rejects_bad_values(options, message):
    with pytest.raises(PreprocessError, match=message):
        PreprocessConfig(**options)


# --------------------------------------------------------------------------- standardise / write

def test_standardize_and_write_pcm16_round_trip(tmp_path):
    stereo = (np.stack([tone(440, 0.5, rate=48000), tone(440, 0.5, rate=48000)], axis=1)
              * 32767).astype(np.int16)
    mono = standardize(stereo, 16000, sample_rate=48000)
    assert mono.dtype == np.float32 and mono.shape == (8000,)
    path = write_pcm16(tmp_path / "out" / "a.wav", mono, 16000)
    info = sf.info(str(path))
    assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
    back = load_audio(path, 16000)
    assert np.max(np.abs(back - mono)) <= 1 / 32768
    assert sorted(p.name for p in path.parent.iterdir()) == ["a.wav"]  # no temp file left
    assert np.array_equal(standardize(path, 16000), back)


def test_write_pcm16_clips_instead_of_wrapping(tmp_path):
    path = write_pcm16(tmp_path / "c.wav", np.array([1.5, -1.5, 0.25], np.float32), 8000)
    assert sf.read(str(path), dtype="int16")[0].tolist() == [32767, -32768, 8192]


# --------------------------------------------------------------------------- silence

def test_trim_bounds_keep_padding_around_the_burst():
    audio = np.concatenate([silence(0.5), noise(1.0, 0.1), silence(0.7)])
    start, end = trim_bounds(audio, RATE, threshold_db=-40, pad_ms=100)
    assert abs(start - int(0.4 * RATE)) <= 0.025 * RATE
    assert abs(end - int(1.6 * RATE)) <= 0.025 * RATE
    assert trim_bounds(silence(1.0), RATE) is None


def test_speech_regions_split_on_long_enough_silences():
    audio = np.concatenate([silence(0.2), noise(0.5, 0.1), silence(0.5), noise(0.5, 0.1, 1),
                            noise(1.0, 0.0005, 2)])  # quiet hiss 46 dB below: silence
    two = speech_regions(audio, RATE, threshold_db=-30, min_silence_ms=300, pad_ms=0)
    assert len(two) == 2
    assert [round(s / RATE, 1) for region in two for s in region] == [0.2, 0.7, 1.2, 1.7]
    one = speech_regions(audio, RATE, threshold_db=-30, min_silence_ms=600, pad_ms=0)
    assert len(one) == 1 and one[0][0] == two[0][0] and one[0][1] == two[1][1]
    assert speech_regions(silence(0.5), RATE) == []


# --------------------------------------------------------------------------- filters

def test_highpass_removes_hum_and_keeps_speech_band():
    hum, voice = tone(30, 2.0, 0.3), tone(1000, 2.0, 0.3)
    out = highpass(hum + voice, RATE, cutoff_hz=80)
    middle = slice(RATE // 2, 3 * RATE // 2)
    hum_after, _ = tone_fit(out[middle], 30)
    voice_after, _ = tone_fit(out[middle], 1000)
    assert db(hum_after / 0.3) < -20
    assert abs(db(voice_after / 0.3)) < 1
    assert out.dtype == np.float32 and out.shape == hum.shape


def test_spectral_gate_raises_snr_and_keeps_the_tone_level():
    clean = np.concatenate([silence(0.5), tone(1000, 2.0, 0.1), silence(0.5)])
    noisy = clean + noise(3.0, 0.05, seed=3)
    region = slice(int(0.7 * RATE), int(2.3 * RATE))
    amp_in, noise_in = tone_fit(noisy[region], 1000)
    out = spectral_gate(noisy, RATE)
    amp_out, noise_out = tone_fit(out[region], 1000)
    snr_gain = 10 * np.log10((amp_out ** 2 / 2 / noise_out) / (amp_in ** 2 / 2 / noise_in))
    assert snr_gain > 6
    assert abs(db(amp_out / amp_in)) < 2
    assert out.shape == noisy.shape and out.dtype == np.float32


def test_loudness_reaches_target_on_a_noise_burst():
    burst = noise(3.0, 0.02, seed=4)
    out, note = normalize_loudness(burst, RATE, target_lufs=-23.0)
    assert note is None
    assert pyloudnorm.Meter(RATE).integrated_loudness(out.astype(np.float64)) == pytest.approx(-23.0, abs=0.5)


def test_loudness_never_exceeds_the_peak_limit():
    spiky = noise(3.0, 0.001, seed=5)
    spiky[RATE] = 0.9  # one click: reaching -23 LUFS would push it far over full scale
    out, note = normalize_loudness(spiky, RATE, target_lufs=-23.0, peak_dbfs=-1.0)
    assert np.max(np.abs(out)) <= 10 ** (-1 / 20) + 1e-6
    assert "peak-limited" in note


@pytest.mark.parametrize("audio,why", [(silence(2.0), "silent"), (noise(2.0, 1e-6), "too quiet"),
                                       (noise(0.3, 0.1), "shorter than the 0.4 s")])
def test_loudness_leaves_quiet_or_short_audio_unchanged(audio, why):
    out, note = normalize_loudness(audio, RATE)
    assert np.array_equal(out, audio) and why in note


# --------------------------------------------------------------------------- the pipeline

def test_duration_limits_drop_or_pad():
    short = tone(300, 0.31)
    drop = Preprocessor(PreprocessConfig(min_seconds=0.5)).process(short, "hi", "a.wav")
    assert drop.skipped and drop.skip_reason == "shorter than min_seconds (0.31 s < 0.5 s)"
    padded = Preprocessor(PreprocessConfig(min_seconds=0.5, too_short="pad")).process(short, "hi")
    (piece,) = padded.pieces
    assert piece.audio.shape == (8000,) and piece.text == "hi"
    assert np.array_equal(piece.audio[1520:1520 + short.shape[0]], short)  # (8000 - 4960) // 2
    long = Preprocessor(PreprocessConfig(max_seconds=0.2)).process(short, "hi")
    assert long.skip_reason == "longer than max_seconds (0.31 s > 0.2 s)"


def test_typical_pipeline_trims_filters_and_normalises():
    audio = np.concatenate([silence(0.6), tone(500, 1.0, 0.05) + tone(30, 1.0, 0.05),
                            silence(0.6)]) + noise(2.2, 1e-4, seed=6)
    cfg = PreprocessConfig(trim=True, highpass=True, loudness=True, min_seconds=0.5)
    result = Preprocessor(cfg).process(audio, "a tone", "t.wav")
    (piece,) = result.pieces
    assert piece.text == "a tone" and piece.audio.dtype == np.float32
    assert 1.15 <= piece.audio.shape[0] / RATE <= 1.3  # 1 s of sound + 2 x 100 ms padding
    assert pyloudnorm.Meter(RATE).integrated_loudness(piece.audio.astype(np.float64)) == \
        pytest.approx(-23, abs=0.5)
    assert Preprocessor(cfg).process(silence(1.0), "x").skip_reason.startswith("silent")


def test_split_without_an_alignment_model_is_refused():
    with pytest.raises(PreprocessError, match="needs an alignment model"):
        Preprocessor(PreprocessConfig(max_seconds=10, too_long="split"))
    with pytest.raises(ArtifactError):
        Preprocessor(PreprocessConfig(max_seconds=10, too_long="split"), "/nonexistent.tflite")


class BurstAligner:
    """Stand-in acoustic model: the n-th burst of sound is the n-th word.

    Spreads each word's characters over its burst and puts the space in the gap, as
    a peaky CTC model would.
    """

    vocabulary = Vocabulary.english()
    sample_rate = RATE
    frame_duration = 0.02

    def __init__(self, text: str):
        self.words = text.split()

    def log_probs(self, waveform: np.ndarray) -> np.ndarray:
        hop = int(self.frame_duration * RATE)
        frames = -(-waveform.shape[0] // hop)
        probs = np.full((frames, self.vocabulary.size), 0.01)
        probs[:, 0] = 1.0
        bursts = speech_regions(waveform, RATE, -30, 50, 0)
        assert len(bursts) == len(self.words)
        for i, (word, (start, end)) in enumerate(zip(self.words, bursts)):
            first, last = start // hop, end // hop - 1
            for char, frame in zip(word, np.linspace(first, last, len(word)).round().astype(int)):
                probs[frame, 0], probs[frame, self.vocabulary.encode(char)[0]] = 0.01, 1.0
            if i:
                gap = (bursts[i - 1][1] // hop + first) // 2
                probs[gap, 0], probs[gap, 1] = 0.01, 1.0
        return np.log(probs / probs.sum(axis=1, keepdims=True))


def test_split_cuts_at_the_longest_pauses_and_splits_the_transcript():
    text = "alpha bravo charlie delta echo"
    gaps = [0.2, 0.6, 0.3, 0.2]  # after alpha, bravo, charlie, delta
    parts = [silence(0.2)]
    for i, freq in enumerate([300, 400, 500, 600, 700]):
        parts.append(tone(freq, 0.8 if i < 4 else 0.6, 0.3))
        parts.append(silence(gaps[i] if i < 4 else 0.2))
    audio = np.concatenate(parts)  # 5.5 s
    cfg = PreprocessConfig(max_seconds=3.0, too_long="split")
    pre = Preprocessor(cfg, aligner=BurstAligner(text))
    result = pre.process(audio, text, "long.wav")
    assert [p.text for p in result.pieces] == ["alpha bravo", "charlie", "delta echo"]
    assert [round(p.audio.shape[0] / RATE, 2) for p in result.pieces] == [2.3, 1.25, 1.95]
    assert np.array_equal(np.concatenate([p.audio for p in result.pieces]), audio)
    assert result.notes[0].startswith("split into 3 pieces")
    # picklable for worker processes, and deterministic
    again = pickle.loads(pickle.dumps(pre)).process(audio, text, "long.wav")
    assert all(np.array_equal(a.audio, b.audio) for a, b in zip(result.pieces, again.pieces))
    # a stretch longer than the limit holding one word cannot be split
    tight = Preprocessor(PreprocessConfig(max_seconds=0.7, too_long="split"),
                         aligner=BurstAligner(text)).process(audio, text)
    assert "no pause between words" in tight.skip_reason
