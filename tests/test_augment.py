"""Waveform augmentation: each effect's measurable result, determinism, pickling, config, preview."""

from __future__ import annotations

import json
import multiprocessing
import pickle

import numpy as np
import pytest
import soundfile as sf
import yaml
from click.testing import CliRunner

from edgeasr.augment.augmenter import Augmenter
from edgeasr.augment.configs import DEFAULT_AUGMENT, AugmentConfig, NoiseConfig
from edgeasr.augment.preview import describe_step, preview_sample
from edgeasr.augment.signals import (
    colored_noise,
    decay_rt60,
    fft_convolve_same,
    synthetic_rir,
)
from edgeasr.augment.sources import looped_window
from edgeasr.errors import ConfigError, DataError

SR = 16000
EFFECTS = tuple(AugmentConfig().to_dict())


def only(name: str, **options) -> AugmentConfig:
    """A config where only ``name`` is on, always firing, with ``options``."""
    data = {effect: {"p": 0.0} for effect in EFFECTS}
    data[name] = {"p": 1.0, **options}
    return AugmentConfig.from_dict(data)


def harmonic_tone(f0: float = 200.0, seconds: float = 2.0, level: float = 0.1) -> np.ndarray:
    """``(N,)`` tone whose k-th harmonic has amplitude 1/k: the fundamental is the strongest peak."""
    t = np.arange(int(seconds * SR)) / SR
    x = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6))
    return (level * x / np.max(np.abs(x))).astype(np.float32)


def fundamental(x: np.ndarray) -> float:
    """Frequency of the strongest spectral peak of the middle of ``x`` (Hz, 0.125 Hz bins)."""
    middle = x[len(x) // 4: 3 * len(x) // 4].astype(np.float64)
    size = 8 * len(middle)
    spectrum = np.abs(np.fft.rfft(middle * np.hanning(len(middle)), size))
    return float(np.argmax(spectrum)) * SR / size


def level_db(x: np.ndarray) -> float:
    return 10 * np.log10(np.mean(np.square(x, dtype=np.float64)))


def white(seconds: float = 1.0, level: float = 0.1, seed: int = 0) -> np.ndarray:
    return (level * np.random.default_rng(seed).standard_normal(int(seconds * SR))).astype(np.float32)


# ------------------------------------------------------------------------------ each effect

def test_speed_shortens_by_the_factor_and_raises_pitch():
    x = harmonic_tone()
    y = Augmenter(only("speed", factor=1.1), SR)(x, 0)
    assert abs(len(y) - len(x) / 1.1) <= 3
    assert fundamental(y) == pytest.approx(200 * 1.1, rel=0.005)


def test_pitch_shift_moves_the_fundamental_and_keeps_the_duration():
    x = harmonic_tone()
    y = Augmenter(only("pitch", semitones=3.0), SR)(x, 0)
    assert len(y) == len(x)
    assert fundamental(y) == pytest.approx(200 * 2 ** (3 / 12), rel=0.01)


@pytest.mark.parametrize("factor", [0.8, 1.25])
def test_time_stretch_scales_the_duration_and_keeps_the_pitch(factor):
    x = harmonic_tone()
    y = Augmenter(only("stretch", factor=factor), SR)(x, 0)
    assert abs(len(y) - len(x) / factor) <= 3
    assert fundamental(y) == pytest.approx(200, rel=0.01)


@pytest.mark.parametrize("color, slope", [("white", 0.0), ("pink", -1.0), ("brown", -2.0)])
def test_colored_noise_is_added_at_the_requested_snr_with_its_spectrum(color, slope):
    x = harmonic_tone(seconds=1.5)
    for key in range(3):
        augmenter = Augmenter(only("noise", snr_db=[5, 25], colors=[color]), SR, seed=4)
        y = augmenter(x, key)
        (step,) = augmenter.describe(key)
        assert step["source"] == color
        assert level_db(x) - level_db(y - x) == pytest.approx(step["snr_db"], abs=0.5)
    noise = colored_noise(2**16, {"white": 0, "pink": 1, "brown": 2}[color], SR,
                          np.random.default_rng(1))
    power = np.abs(np.fft.rfft(noise)) ** 2
    freqs = np.fft.rfftfreq(len(noise), 1 / SR)
    band = (freqs > 100) & (freqs < 4000)
    fitted = np.polyfit(np.log10(freqs[band]), np.log10(power[band]), 1)[0]
    assert fitted == pytest.approx(slope, abs=0.1)


def test_file_noise_is_looped_at_the_requested_snr(tmp_path):
    (tmp_path / "noise").mkdir()
    clip = white(0.3, seed=7)  # shorter than the utterance: must loop
    sf.write(tmp_path / "noise" / "fan.flac", clip, SR)
    config = only("noise", snr_db=12.0, folders=[str(tmp_path / "noise")], colors=[])
    x = harmonic_tone(seconds=1.0)
    y = Augmenter(config, SR)(x, 3)
    residual = (y - x).astype(np.float64)
    assert level_db(x) - level_db(residual) == pytest.approx(12.0, abs=0.5)
    period = len(clip)
    np.testing.assert_allclose(residual[period:], residual[:-period], atol=1e-4)
    assert looped_window(np.arange(5), 3, 7).tolist() == [3, 4, 0, 1, 2, 3, 4]


@pytest.mark.parametrize("rt60", [0.2, 0.5])
def test_synthetic_rir_decays_at_the_requested_rt60_and_drr(rt60):
    rir = synthetic_rir(rt60, 6.0, SR, np.random.default_rng(0))
    assert rir[0] == 1.0 and len(rir) == round(rt60 * SR)
    assert decay_rt60(rir, SR) == pytest.approx(rt60, rel=0.1)
    assert 10 * np.log10(1.0 / np.sum(np.square(rir[1:], dtype=np.float64))) == pytest.approx(6.0, abs=0.01)


def test_reverb_keeps_length_timing_and_level(tmp_path):
    x = np.zeros(SR, np.float32)
    x[4000] = 0.5
    x += harmonic_tone(seconds=1.0, level=0.05)
    y = Augmenter(only("reverb", rt60_s=0.4, drr_db=3.0), SR)(x, 0)
    assert len(y) == len(x)
    assert int(np.argmax(np.abs(y))) == 4000
    assert level_db(y) == pytest.approx(level_db(x), abs=0.01)
    # a recorded response with a propagation delay is aligned on its direct path
    (tmp_path / "rirs").mkdir()
    recorded = np.concatenate([np.zeros(300, np.float32), 0.8 * synthetic_rir(0.3, 2.0, SR, np.random.default_rng(2))])
    sf.write(tmp_path / "rirs" / "hall.wav", recorded, SR, subtype="FLOAT")
    y = Augmenter(only("reverb", folders=[str(tmp_path / "rirs")], file_fraction=1.0), SR)(x, 0)
    assert len(y) == len(x) and int(np.argmax(np.abs(y))) == 4000
    np.testing.assert_allclose(fft_convolve_same(x, np.array([1.0], np.float32)), x, atol=1e-6)


def test_band_limit_removes_the_energy_above_the_band_edge():
    x = white(2.0)
    y = Augmenter(only("band_limit", rate_hz=8000), SR)(x, 0)
    assert len(y) == len(x)
    freqs = np.fft.rfftfreq(len(x), 1 / SR)

    def band_db(signal, lo, hi):
        return 10 * np.log10(np.sum(np.abs(np.fft.rfft(signal))[(freqs >= lo) & (freqs < hi)] ** 2))

    assert band_db(x, 4000, 8000) - band_db(y, 4000, 8000) > 40
    assert band_db(x, 100, 3000) - band_db(y, 100, 3000) == pytest.approx(0, abs=0.5)


@pytest.mark.parametrize("mode", ["zero", "circular"])
def test_time_shift_is_exact(mode):
    x = white(0.5)
    augmenter = Augmenter(only("time_shift", max_ms=100, mode=mode), SR)
    shifts = set()
    for key in range(6):
        y = augmenter(x, key)
        (step,) = augmenter.describe(key)
        shift = step["samples"]
        shifts.add(np.sign(shift))
        assert abs(shift) <= 1600 and step["ms"] == pytest.approx(shift / 16)
        if mode == "circular":
            expected = np.roll(x, shift)
        else:
            expected = np.zeros_like(x)
            expected[max(shift, 0):len(x) + min(shift, 0)] = x[max(-shift, 0):len(x) - max(shift, 0)]
        np.testing.assert_array_equal(y, expected)
    assert shifts >= {-1, 1}


def test_silence_is_added_before_and_after_and_nothing_is_cut():
    x = white(0.3)
    augmenter = Augmenter(only("silence", lead_ms=[0, 300], trail_ms=[50, 100]), SR)
    leads = set()
    for key in range(8):
        y = augmenter(x, key)
        (step,) = augmenter.describe(key)
        lead, trail = step["lead"], step["trail"]
        leads.add(lead)
        assert 0 <= lead <= 4800 and 800 <= trail <= 1600
        assert step["lead_ms"] == pytest.approx(lead / 16) and step["trail_ms"] == pytest.approx(trail / 16)
        np.testing.assert_array_equal(y, np.concatenate([np.zeros(lead, np.float32), x,
                                                         np.zeros(trail, np.float32)]))
        assert len(y) <= augmenter.length_bound(len(x), key) <= len(y) + 4
    assert len(leads) == 8
    assert describe_step(step) == f"silence {lead / 16:.0f} ms before, {trail / 16:.0f} ms after"
    assert DEFAULT_AUGMENT.silence.p == 0  # off unless a config asks for it


def test_gain_changes_the_level_by_exactly_the_drawn_db_and_output_is_limited():
    x = harmonic_tone(level=0.1)
    augmenter = Augmenter(only("gain", db=[-6, 6]), SR)
    for key in range(4):
        (step,) = augmenter.describe(key)
        assert level_db(augmenter(x, key)) - level_db(x) == pytest.approx(step["db"], abs=1e-3)
    loud = Augmenter(only("gain", db=12.0), SR)(harmonic_tone(level=0.9), 0)
    assert np.max(np.abs(loud)) <= 1.0


# ---------------------------------------------------------------------------- determinism

def _outputs(augmenter: Augmenter, x: np.ndarray, keys) -> dict:
    return {key: augmenter(x, key) for key in keys}


def _run_in_worker(args):
    augmenter, x, keys = args
    return _outputs(augmenter, x, keys)


def test_output_depends_only_on_seed_key_and_audio():
    x = harmonic_tone(seconds=1.0)
    config = AugmentConfig.from_dict({effect: {"p": 0.7} for effect in EFFECTS})
    keys = [(epoch, i) for epoch in range(2) for i in range(4)]
    forward = _outputs(Augmenter(config, SR, seed=5), x, keys)
    backward = _outputs(Augmenter(config, SR, seed=5), x, list(reversed(keys)))
    for key in keys:
        np.testing.assert_array_equal(forward[key], backward[key])
        assert forward[key].dtype == np.float32 and np.max(np.abs(forward[key])) <= 1.0
    assert not np.array_equal(forward[(0, 0)], forward[(0, 1)])
    assert not np.array_equal(forward[(0, 0)], Augmenter(config, SR, seed=6)(x, (0, 0)))
    np.testing.assert_array_equal(Augmenter(config, SR)(x, 3), Augmenter(config, SR)(x, (3,)))
    # the effects' draws are independent of each other: turning one off leaves the rest alone
    fewer = AugmentConfig.from_dict({**config.to_dict(), "gain": {"p": 0}})
    for key in keys:
        left = [s for s in Augmenter(config, SR, seed=5).describe(key) if s["name"] != "gain"]
        assert Augmenter(fewer, SR, seed=5).describe(key) == left


def test_augmenter_pickles_and_gives_the_same_results_in_a_worker_process(tmp_path):
    (tmp_path / "noise").mkdir()
    sf.write(tmp_path / "noise" / "hum.wav", white(0.2, seed=3), SR)
    config = AugmentConfig.from_dict({"noise": {"p": 1.0, "folders": [str(tmp_path / "noise")]},
                                      "speed": {"p": 1.0}, "pitch": {"p": 0.5}})
    augmenter = Augmenter(config, SR, seed=2)
    x = harmonic_tone(seconds=0.5)
    keys = [0, 1, 2]
    here = _outputs(augmenter, x, keys)  # fills the noise cache; the pickle must not carry it
    copy = pickle.loads(pickle.dumps(augmenter))
    assert len(pickle.dumps(augmenter)) < 10_000
    for key in keys:
        np.testing.assert_array_equal(copy(x, key), here[key])
    if "fork" in multiprocessing.get_all_start_methods():
        with multiprocessing.get_context("fork").Pool(1) as pool:
            there = pool.map(_run_in_worker, [(augmenter, x, keys)])[0]
        for key in keys:
            np.testing.assert_array_equal(there[key], here[key])


def test_default_augmentation_is_sane():
    x = harmonic_tone(seconds=2.0, level=0.5)
    augmenter = Augmenter(DEFAULT_AUGMENT, SR)
    fired = set()
    for key in range(40):
        y = augmenter(x, key)
        names = {s["name"] for s in augmenter.describe(key)}
        fired |= names
        assert y.dtype == np.float32 and y.ndim == 1 and np.all(np.isfinite(y))
        assert np.max(np.abs(y)) <= 1.0
        if not names & {"speed", "stretch"}:
            assert len(y) == len(x)
    assert {"speed", "gain", "noise", "time_shift"} <= fired


# --------------------------------------------------------------------------------- config

def test_config_round_trips_through_dicts_and_yaml():
    assert AugmentConfig.from_dict(None) == DEFAULT_AUGMENT == AugmentConfig.from_dict({})
    assert AugmentConfig.from_dict(DEFAULT_AUGMENT.to_dict()) == DEFAULT_AUGMENT
    custom = AugmentConfig.from_dict({"noise": {"snr_db": 15, "colors": "pink"}, "reverb": "off",
                                      "band_limit": {"rate_hz": [4000, 8000]}, "gain": None})
    assert custom.noise == NoiseConfig(snr_db=(15.0, 15.0), colors=("pink",))
    assert custom.reverb.p == 0 and custom.gain.p == 0 and custom.band_limit.rate_hz == (4000, 8000)
    assert AugmentConfig.from_dict(yaml.safe_load(yaml.safe_dump(custom.to_dict()))) == custom
    assert not AugmentConfig.disabled().enabled and DEFAULT_AUGMENT.enabled
    x = white(0.2)
    np.testing.assert_array_equal(Augmenter(AugmentConfig.disabled(), SR)(x, 0), x)


@pytest.mark.parametrize("data, message", [
    ({"echo": {"p": 1}}, "augment: unknown option(s) ['echo']; known: ['band_limit', "),
    ({"noise": {"snr": 10}}, "augment.noise: unknown option(s) ['snr']; known: ['colors', "),
    ({"speed": {"p": 1.5}}, "SpeedConfig: p must be in [0, 1]"),
    ({"gain": {"db": [6, -6]}}, "GainConfig.db: need -60 <= low <= high <= 60"),
    ({"noise": {"colors": ["purple"]}}, "NoiseConfig.colors: unknown ['purple']"),
    ({"silence": {"lead_ms": [-5, 10]}}, "SilenceConfig.lead_ms: need 0 <= low <= high"),
    ({"time_shift": {"mode": "wrap"}}, "TimeShiftConfig.mode must be 'zero' or 'circular'"),
    ({"speed": {"factor": None}}, "SpeedConfig.factor: expected a number or [low, high], got None"),
    ({"speed": {"p": "often"}}, "SpeedConfig.p: expected a number, got 'often'"),
    ({"noise": 5}, "AugmentConfig.noise: expected a mapping of NoiseConfig options (or off), got 5"),
    ([1, 2], "augment: expected a mapping of options, got list"),
])
def test_config_errors_name_the_problem(data, message):
    with pytest.raises(ConfigError) as info:
        AugmentConfig.from_dict(data)
    assert message in str(info.value)


def test_augmenter_rejects_bad_setups(tmp_path):
    with pytest.raises(ConfigError, match="below the sample rate"):
        Augmenter(only("band_limit", rate_hz=16000), SR)
    with pytest.raises(DataError, match="no audio files"):
        Augmenter(only("noise", folders=[str(tmp_path)]), SR)
    with pytest.raises(ValueError, match="non-negative"):
        Augmenter(DEFAULT_AUGMENT, SR)(white(0.1), -1)


# -------------------------------------------------------------------------------- preview

def test_augment_command_writes_wav_pairs_spectrograms_and_an_index(tmp_path):
    from PIL import Image

    from edgeasr.cli import main

    lines = []
    for i, f0 in enumerate((150.0, 220.0, 300.0)):
        sf.write(tmp_path / f"tone{i}.wav", harmonic_tone(f0, seconds=0.6, level=0.3), SR, subtype="PCM_16")
        lines.append(json.dumps({"audio_filepath": f"tone{i}.wav", "duration": 0.6, "text": f"tone {i}"}))
    (tmp_path / "m.jsonl").write_text("\n".join(lines) + "\n")
    (tmp_path / "aug.yaml").write_text("augment:\n  noise: {p: 1.0, snr_db: [10, 20]}\n  speed: {p: 1.0}\n")
    out = tmp_path / "preview"
    result = CliRunner().invoke(main, ["augment", "--manifest", str(tmp_path / "m.jsonl"), "--out", str(out),
                                       "-n", "2", "--config", str(tmp_path / "aug.yaml"), "--seed", "3"])
    assert result.exit_code == 0, result.output
    index = json.loads((out / "index.json").read_text())
    assert index["seed"] == 3 and len(index["items"]) == 2
    for item in index["items"]:
        assert {s["name"] for s in item["augmentations"]} >= {"speed", "noise"}
        original, rate = sf.read(out / item["original"], dtype="int16")
        augmented, rate2 = sf.read(out / item["augmented"], dtype="int16")
        assert rate == rate2 == SR and sf.info(out / item["augmented"]).subtype == "PCM_16"
        assert len(original) != len(augmented) or not np.array_equal(original, augmented)
        with Image.open(out / item["spectrogram"]) as image:
            image.verify()
        with Image.open(out / item["spectrogram"]) as image:
            assert image.format == "PNG" and image.width >= 400 and image.height >= 300
            assert len(np.unique(np.asarray(image.convert("L")))) > 50  # a picture, not a blank


def test_preview_picks_a_seeded_sample_spread_over_the_manifest():
    picks = preview_sample(30, 3, seed=0)
    assert len(picks) == 3 and picks == sorted(set(picks)) and all(0 <= i < 30 for i in picks)
    assert picks != [0, 1, 2] and preview_sample(30, 3, seed=0) == picks
    assert preview_sample(30, 3, seed=1) != picks
    assert len({i for seed in range(20) for i in preview_sample(30, 3, seed)}) > 20
    assert preview_sample(5, 8) == [0, 1, 2, 3, 4]  # a short manifest: all of it
    with pytest.raises(ConfigError, match="must be positive"):
        preview_sample(30, 0)


def test_preview_index_holds_the_sampled_utterances_and_labels_the_band_limit(tmp_path):
    from edgeasr.cli import main

    assert describe_step({"name": "band_limit", "rate_hz": 8000}) == "bandlimit 4000 Hz"
    assert describe_step({"name": "band_limit", "rate_hz": 6801}) == "bandlimit 3400.5 Hz"
    sf.write(tmp_path / "tone.wav", harmonic_tone(200.0, seconds=0.3), SR, subtype="PCM_16")
    lines = [json.dumps({"audio_filepath": "tone.wav", "duration": 0.3, "text": f"tone {i}"})
             for i in range(12)]
    (tmp_path / "m.jsonl").write_text("\n".join(lines) + "\n")
    config = {name: {"p": 0.0} for name in EFFECTS}
    config["band_limit"] = {"p": 1.0, "rate_hz": 6800}
    (tmp_path / "aug.yaml").write_text(yaml.safe_dump({"augment": config}))
    out = tmp_path / "preview"
    result = CliRunner().invoke(main, ["augment", "--manifest", str(tmp_path / "m.jsonl"), "--out",
                                       str(out), "-n", "3", "--config", str(tmp_path / "aug.yaml"),
                                       "--seed", "5"])
    assert result.exit_code == 0, result.output
    items = json.loads((out / "index.json").read_text())["items"]
    picked = preview_sample(12, 3, seed=5)
    assert [item["index"] for item in items] == picked and picked != [0, 1, 2]
    assert [item["text"] for item in items] == [f"tone {i}" for i in picked]
    assert [item["key"] for item in items] == [[i] for i in picked]
    assert [item["original"] for item in items] == ["000_original.wav", "001_original.wav",
                                                    "002_original.wav"]
    for item in items:
        assert item["augmentations"] == [{"name": "band_limit", "rate_hz": 6800}]
        assert item["labels"] == ["bandlimit 3400 Hz"]


def test_measure_throughput_reports_audio_seconds_per_cpu_second():
    from edgeasr.augment.preview import measure_throughput

    assert measure_throughput(Augmenter(DEFAULT_AUGMENT, SR), count=4, seconds=(0.2, 0.3), repeats=1) > 0
