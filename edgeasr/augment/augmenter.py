"""The :class:`Augmenter`: an :class:`~edgeasr.augment.configs.AugmentConfig` applied to waveforms.

Each effect that fires draws its parameters (:meth:`Augmenter.plan`), then is applied in
the config's order; a waveform whose peak exceeds 1 is finally scaled down to peak 1. Noise
and room responses come from :mod:`edgeasr.augment.sources`.

Determinism: what happens to an utterance depends only on ``(seed, key, audio)``: each effect
draws from its own generator seeded by ``(seed, effect id, len(key), *key)``, so results do not
depend on call order, process, or which other effects are configured.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import soxr

from edgeasr.augment.configs import (
    EFFECTS,
    AugmentConfig,
    BandLimitConfig,
    NoiseConfig,
    ReverbConfig,
    SilenceConfig,
    TimeShiftConfig,
)
from edgeasr.augment.signals import mix_at_snr, reverberate
from edgeasr.augment.sources import AudioCache, NoiseSource, RirSource
from edgeasr.errors import ConfigError

__all__ = ["Augmenter", "Step"]

_SPEED_QUALITY = "MQ"  # as good as HQ below 0.9 * Nyquist here, cheaper
_BAND_QUALITY = "HQ"  # ~60 dB stop band
# Seeds: each effect's own number, fixed once given (a new effect takes the next one), so
# adding an effect leaves every existing run's draws as they were.
_EFFECT_IDS = {"speed": 1, "pitch": 2, "stretch": 3, "time_shift": 4, "reverb": 5, "noise": 6,
               "band_limit": 7, "gain": 8, "silence": 9}
_ONE_RANGE = {"speed": "factor", "pitch": "semitones", "stretch": "factor", "gain": "db"}


@dataclass(frozen=True)
class Step:
    """One effect that fired for a key, with the parameters it was drawn."""

    name: str
    params: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, **self.params}


class Augmenter:
    """Applies an :class:`AugmentConfig` to waveforms, deterministically per ``key``.

    Picklable (worker processes): noise/RIR file lists travel, decoded audio is reloaded lazily.

    Raises (on construction):
        ConfigError: a band-limit rate not below ``sample_rate``, or pitch/stretch on
            without the python-stretch package.
        DataError: noise or RIR folders without audio files.
        FileNotFoundError: a noise or RIR folder that does not exist.
    """

    def __init__(self, config: AugmentConfig, sample_rate: int, seed: int = 0) -> None:
        if not isinstance(config, AugmentConfig):
            raise TypeError(f"config must be an AugmentConfig, got {type(config).__name__}")
        if int(sample_rate) <= 0 or int(seed) < 0:
            raise ConfigError(f"need sample_rate > 0 and seed >= 0, got {sample_rate}, {seed}")
        if config.band_limit.p > 0 and config.band_limit.rate_hz[1] >= sample_rate:
            raise ConfigError(f"band_limit.rate_hz {list(config.band_limit.rate_hz)} must be below "
                             f"the sample rate {sample_rate}")
        if config.pitch.p > 0 or config.stretch.p > 0:
            try:
                import python_stretch.Signalsmith  # noqa: F401
            except ImportError as err:
                raise ConfigError("pitch and stretch need the python-stretch package (pip install "
                                 "python-stretch), or set their p to 0") from err
        self.config = config
        self.sample_rate = int(sample_rate)
        self.seed = int(seed)
        cache = AudioCache(self.sample_rate)  # decoded noise/RIR files; pickles empty
        noise, reverb = config.noise, config.reverb
        self._noise = NoiseSource(noise.colors, noise.folders if noise.p > 0 else (),
                                  noise.file_fraction, cache)
        self._rirs = RirSource(reverb.rt60_s, reverb.drr_db, reverb.folders if reverb.p > 0 else (),
                               reverb.file_fraction, cache)

    # -- planning: what fires, with which parameters (no audio needed)

    def plan(self, key: int | tuple[int, ...]) -> tuple[Step, ...]:
        """The effects that fire for ``key``, in application order, with their parameters."""
        key = _check_key(key)
        steps = []
        for name in EFFECTS:
            section = getattr(self.config, name)
            rng = np.random.default_rng((self.seed, _EFFECT_IDS[name], len(key), *key))
            if rng.random() < section.p:
                if name in _ONE_RANGE:  # a single parameter drawn from one range
                    params = {_ONE_RANGE[name]: float(rng.uniform(*getattr(section, _ONE_RANGE[name])))}
                else:
                    params = getattr(self, f"_draw_{name}")(section, rng)
                steps.append(Step(name, params))
        return tuple(steps)

    def describe(self, key: int | tuple[int, ...]) -> list[dict[str, Any]]:
        """``[{"name": effect, **parameters}, ...]`` for the effects that fire for ``key``."""
        return [step.to_dict() for step in self.plan(key)]

    def __call__(self, audio: np.ndarray, key: int | tuple[int, ...]) -> np.ndarray:
        """Augment ``audio`` ``(N,)`` float32; returns float32 ``(M,)``, ``M != N`` after speed or
        stretch; peak at most 1. The input is not modified."""
        x = np.asarray(audio, dtype=np.float32)
        if x.ndim != 1:
            raise ValueError(f"audio must be mono with shape (N,), got shape {x.shape}")
        for step in self.plan(key):
            if x.shape[0] == 0:
                break
            x = getattr(self, f"_apply_{step.name}")(x, step.params)
        peak = float(np.max(np.abs(x))) if x.size else 0.0
        if peak > 1.0:
            x = x * np.float32(1.0 / peak)
        return np.ascontiguousarray(x, dtype=np.float32)

    def length_bound(self, samples: int, key: int | tuple[int, ...]) -> int:
        """At least the length of ``self(audio, key)`` for ``samples`` samples, from the drawn
        parameters alone (no audio): speed and stretch give ``samples / factor``, silence adds
        its samples; the other effects keep the length. The resamplers round by a sample or
        so: 4 are added."""
        length = float(samples)
        for step in self.plan(key):
            if step.name in ("speed", "stretch"):
                length /= step.params["factor"]
            elif step.name == "silence":
                length += step.params["lead"] + step.params["trail"]
        return int(np.ceil(length)) + 4

    def __repr__(self) -> str:
        return f"Augmenter(sample_rate={self.sample_rate}, seed={self.seed}, config={self.config!r})"

    # -- parameter draws (one generator per effect)

    def _draw_time_shift(self, c: TimeShiftConfig, rng: np.random.Generator) -> dict[str, Any]:
        limit = int(round(c.max_ms * self.sample_rate / 1000.0))
        samples = int(rng.integers(-limit, limit, endpoint=True))
        return {"samples": samples, "ms": 1000.0 * samples / self.sample_rate, "mode": c.mode}

    def _draw_silence(self, c: SilenceConfig, rng: np.random.Generator) -> dict[str, Any]:
        lead, trail = (int(round(rng.uniform(*span) * self.sample_rate / 1000.0))
                       for span in (c.lead_ms, c.trail_ms))
        return {"lead": lead, "trail": trail, "lead_ms": 1000.0 * lead / self.sample_rate,
                "trail_ms": 1000.0 * trail / self.sample_rate}

    def _draw_reverb(self, c: ReverbConfig, rng: np.random.Generator) -> dict[str, Any]:
        return self._rirs.draw(rng)

    def _draw_noise(self, c: NoiseConfig, rng: np.random.Generator) -> dict[str, Any]:
        return {"snr_db": float(rng.uniform(*c.snr_db)), **self._noise.draw(rng)}

    def _draw_band_limit(self, c: BandLimitConfig, rng: np.random.Generator) -> dict[str, Any]:
        return {"rate_hz": int(rng.integers(c.rate_hz[0], c.rate_hz[1], endpoint=True))}

    # -- effects: (N,) float32 -> (M,) float32

    def _apply_speed(self, x: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        # x read as if sampled faster by `factor`, brought back to the rate: N / factor samples
        return soxr.resample(x, self.sample_rate * params["factor"], self.sample_rate,
                             quality=_SPEED_QUALITY)

    def _apply_pitch(self, x: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        stretch = self._stretcher()
        stretch.setTransposeSemitones(params["semitones"])
        return stretch.process(x[None, :])[0]

    def _apply_stretch(self, x: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        stretch = self._stretcher()
        stretch.setTimeFactor(params["factor"])
        return stretch.process(x[None, :])[0]

    def _apply_time_shift(self, x: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        shift = params["samples"]
        if params["mode"] == "circular":
            return np.roll(x, shift)
        out = np.zeros_like(x)
        if abs(shift) < x.shape[0]:
            if shift >= 0:
                out[shift:] = x[:x.shape[0] - shift]
            else:
                out[:shift] = x[-shift:]
        return out

    def _apply_silence(self, x: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        return np.pad(x, (params["lead"], params["trail"]))

    def _apply_reverb(self, x: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        return reverberate(x, self._rirs.response(params))

    def _apply_noise(self, x: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        return mix_at_snr(x, self._noise.render(params, x.shape[0]), params["snr_db"])

    def _apply_band_limit(self, x: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        low = soxr.resample(x, self.sample_rate, params["rate_hz"], quality=_BAND_QUALITY)
        y = soxr.resample(low, params["rate_hz"], self.sample_rate, quality=_BAND_QUALITY)
        n = x.shape[0]
        return y[:n] if y.shape[0] >= n else np.pad(y, (0, n - y.shape[0]))

    def _apply_gain(self, x: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        return x * np.float32(10.0 ** (params["db"] / 20.0))

    def _stretcher(self):
        from python_stretch.Signalsmith import Stretch

        stretch = Stretch()
        stretch.preset(1, self.sample_rate, True)  # the "cheaper" preset: ~20% faster
        return stretch


def _check_key(key: int | tuple[int, ...]) -> tuple[int, ...]:
    parts = (key,) if isinstance(key, (int, np.integer)) else tuple(key)
    if not parts or any(isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0
                        for k in parts):
        raise ValueError(f"key must be a non-negative int or a non-empty tuple of them, got {key!r}")
    return tuple(int(k) for k in parts)
