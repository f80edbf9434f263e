"""Waveform augmentation for training: a config of random effects and the :class:`Augmenter`.

Effects, in the order applied, each firing with probability ``p``, parameters uniform in ranges:
speed (soxr resampling: pitch and duration together), pitch (semitones, duration kept), stretch
(tempo, pitch kept; both Signalsmith Stretch), time_shift (zero fill or circular), reverb
(synthetic or recorded room responses), noise (coloured or from files, at an SNR against the
whole utterance's RMS), band_limit (resample down and back up), gain. Finally a waveform whose
peak exceeds 1 is scaled down to peak 1. ``noise.py`` holds the noise and room-response sources.

Determinism: what happens to an utterance depends only on ``(seed, key, audio)``: each effect
draws from its own generator seeded by ``(seed, effect id, len(key), *key)``, so results do not
depend on call order, process, or which other effects are configured.

Config dicts (YAML) name only what differs from :data:`DEFAULT_AUGMENT`::

    noise: {p: 0.6, snr_db: [5, 20], folders: [/data/musan/noise]}
    reverb: {p: 0}          # or `reverb: off`
    band_limit: {rate_hz: [4000, 8000]}
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import soxr

from edgeasr.data.noise import COLORS, AudioCache, NoiseSource, RirSource, mix_at_snr, reverberate

__all__ = ["DEFAULT_AUGMENT", "AugmentConfig", "Augmenter", "BandLimitConfig", "GainConfig",
           "NoiseConfig", "PitchConfig", "ReverbConfig", "SpeedConfig", "Step", "StretchConfig",
           "TimeShiftConfig"]

_SPEED_QUALITY = "MQ"  # as good as HQ below 0.9 * Nyquist here, cheaper
_BAND_QUALITY = "HQ"  # ~60 dB stop band


# ------------------------------------------------------------------------------------ configs

def _set(obj: object, name: str, value: object) -> None:
    object.__setattr__(obj, name, value)


def _check_p(obj: object, name: str = "p") -> None:
    """A probability field: a float in [0, 1]."""
    value = float(getattr(obj, name))
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{type(obj).__name__}: {name} must be in [0, 1], got {value}")
    _set(obj, name, value)


def _range(obj: object, name: str, low: float = -math.inf, high: float = math.inf,
           cast: Callable[[Any], float] = float) -> tuple[float, float]:
    """Normalise a ``(lo, hi)`` field (a scalar means ``(v, v)``) and check its bounds."""
    value = getattr(obj, name)
    pair = (value, value) if isinstance(value, (int, float)) else tuple(value)
    if len(pair) != 2:
        raise ValueError(f"{type(obj).__name__}.{name}: expected [low, high], got {value!r}")
    lo, hi = cast(pair[0]), cast(pair[1])
    if not (low <= lo <= hi <= high):
        raise ValueError(f"{type(obj).__name__}.{name}: need {low:g} <= low <= high <= {high:g}, "
                         f"got {value!r}")
    _set(obj, name, (lo, hi))
    return lo, hi


def _names(obj: object, name: str) -> tuple[str, ...]:
    value = getattr(obj, name)
    names = (value,) if isinstance(value, str) else tuple(str(v) for v in value)
    _set(obj, name, names)
    return names


@dataclass(frozen=True)
class SpeedConfig:
    """Speed perturbation: ``factor`` > 1 is faster, higher and ``N / factor`` samples long."""

    p: float = 0.5
    factor: tuple[float, float] = (0.9, 1.1)

    def __post_init__(self) -> None:
        _check_p(self)
        _range(self, "factor", 0.25, 4.0)


@dataclass(frozen=True)
class PitchConfig:
    """Pitch shift in semitones, duration unchanged."""

    p: float = 0.1
    semitones: tuple[float, float] = (-2.0, 2.0)

    def __post_init__(self) -> None:
        _check_p(self)
        _range(self, "semitones", -24.0, 24.0)


@dataclass(frozen=True)
class StretchConfig:
    """Time stretch, pitch unchanged: ``factor`` > 1 is faster (``N / factor`` samples)."""

    p: float = 0.05
    factor: tuple[float, float] = (0.9, 1.1)

    def __post_init__(self) -> None:
        _check_p(self)
        _range(self, "factor", 0.25, 4.0)


@dataclass(frozen=True)
class TimeShiftConfig:
    """Shift by a uniform number of samples in ``[-max_ms, max_ms]``; ``mode``: zero | circular."""

    p: float = 0.3
    max_ms: float = 100.0
    mode: str = "zero"

    def __post_init__(self) -> None:
        _check_p(self)
        _set(self, "max_ms", float(self.max_ms))
        if self.max_ms < 0:
            raise ValueError(f"TimeShiftConfig.max_ms must be >= 0, got {self.max_ms}")
        if self.mode not in ("zero", "circular"):
            raise ValueError(f"TimeShiftConfig.mode must be 'zero' or 'circular', got {self.mode!r}")


@dataclass(frozen=True)
class ReverbConfig:
    """Room reverb: synthetic (``rt60_s``, ``drr_db``) or response files from ``folders``."""

    p: float = 0.2
    rt60_s: tuple[float, float] = (0.1, 0.6)
    drr_db: tuple[float, float] = (0.0, 12.0)
    folders: tuple[str, ...] = ()
    file_fraction: float = 0.8  # with folders: how often a file is used instead of a synthetic RIR

    def __post_init__(self) -> None:
        _check_p(self)
        _range(self, "rt60_s", 0.01, 5.0)
        _range(self, "drr_db", -30.0, 60.0)
        _names(self, "folders")
        _check_p(self, "file_fraction")


@dataclass(frozen=True)
class NoiseConfig:
    """Additive noise at ``snr_db``: coloured (``colors``) or windows of files from ``folders``."""

    p: float = 0.4
    snr_db: tuple[float, float] = (10.0, 30.0)
    colors: tuple[str, ...] = ("white", "pink", "brown")
    folders: tuple[str, ...] = ()
    file_fraction: float = 0.8  # with folders and colors: how often a file is used

    def __post_init__(self) -> None:
        _check_p(self)
        _range(self, "snr_db", -30.0, 100.0)
        unknown = [c for c in _names(self, "colors") if c not in COLORS]
        if unknown:
            raise ValueError(f"NoiseConfig.colors: unknown {unknown}; known: {sorted(COLORS)}")
        _names(self, "folders")
        _check_p(self, "file_fraction")
        if self.p > 0 and not self.colors and not self.folders:
            raise ValueError("NoiseConfig: with p > 0, give colors or folders of noise files")


@dataclass(frozen=True)
class BandLimitConfig:
    """Resample to a random rate in ``rate_hz`` and back (8000 = telephone band)."""

    p: float = 0.1
    rate_hz: tuple[int, int] = (8000, 8000)

    def __post_init__(self) -> None:
        _check_p(self)
        _range(self, "rate_hz", 1000, 192000, cast=int)


@dataclass(frozen=True)
class GainConfig:
    """Level change in dB."""

    p: float = 0.5
    db: tuple[float, float] = (-6.0, 6.0)

    def __post_init__(self) -> None:
        _check_p(self)
        _range(self, "db", -60.0, 60.0)


_SECTIONS: dict[str, type] = {
    "speed": SpeedConfig, "pitch": PitchConfig, "stretch": StretchConfig,
    "time_shift": TimeShiftConfig, "reverb": ReverbConfig, "noise": NoiseConfig,
    "band_limit": BandLimitConfig, "gain": GainConfig,
}
_EFFECT_IDS = {name: number for number, name in enumerate(_SECTIONS, start=1)}  # stable seeds
_ONE_RANGE = {"speed": "factor", "pitch": "semitones", "stretch": "factor", "gain": "db"}


@dataclass(frozen=True)
class AugmentConfig:
    """All effects; field order is the order they are applied in. Defaults: the training default."""

    speed: SpeedConfig = SpeedConfig()
    pitch: PitchConfig = PitchConfig()
    stretch: StretchConfig = StretchConfig()
    time_shift: TimeShiftConfig = TimeShiftConfig()
    reverb: ReverbConfig = ReverbConfig()
    noise: NoiseConfig = NoiseConfig()
    band_limit: BandLimitConfig = BandLimitConfig()
    gain: GainConfig = GainConfig()

    def __post_init__(self) -> None:
        for name, cls in _SECTIONS.items():
            if not isinstance(getattr(self, name), cls):
                raise TypeError(f"AugmentConfig.{name} must be a {cls.__name__}")

    @property
    def enabled(self) -> bool:
        """Whether any effect can fire."""
        return any(getattr(self, name).p > 0 for name in _SECTIONS)

    @classmethod
    def disabled(cls) -> AugmentConfig:
        """Every effect off (``p = 0``), other parameters at their defaults."""
        return cls(**{name: section(p=0.0) for name, section in _SECTIONS.items()})

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Plain nested dict (lists, not tuples): YAML/JSON ready, and ``from_dict``'s input."""
        return {name: {key: list(value) if isinstance(value, tuple) else value
                       for key, value in dataclasses.asdict(getattr(self, name)).items()}
                for name in _SECTIONS}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> AugmentConfig:
        """Defaults overridden by ``data`` (``{effect: {option: value}}``); a section that is
        ``None``/``False``/``"off"`` turns that effect off.

        Raises:
            ValueError: naming unknown effects or options, or out-of-range values.
        """
        data = {} if data is None else data
        if not isinstance(data, Mapping):
            raise ValueError(f"augmentation config must be a mapping, got {type(data).__name__}")
        unknown = sorted(set(data) - set(_SECTIONS))
        if unknown:
            raise ValueError(f"unknown augmentations: {unknown}; known: {list(_SECTIONS)}")
        sections = {}
        for name, options in data.items():
            section = _SECTIONS[name]
            if options is None or options is False or options == "off":
                sections[name] = section(p=0.0)
                continue
            if not isinstance(options, Mapping):
                raise ValueError(f"augmentation {name!r}: expected a mapping of options, got {options!r}")
            known = {f.name for f in dataclasses.fields(section)}
            bad = sorted(set(options) - known)
            if bad:
                raise ValueError(f"unknown options for augmentation {name!r}: {bad}; known: {sorted(known)}")
            try:
                sections[name] = section(**options)
            except TypeError as err:  # e.g. a null or a mapping where a range belongs
                raise ValueError(f"augmentation {name!r}: bad option value ({err})") from err
        return cls(**sections)


DEFAULT_AUGMENT = AugmentConfig()


# ---------------------------------------------------------------------------------- augmenter

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
        ValueError: a band-limit rate not below ``sample_rate``, folders without audio files,
            or pitch/stretch on without the python-stretch package.
        FileNotFoundError: a noise or RIR folder that does not exist.
    """

    def __init__(self, config: AugmentConfig, sample_rate: int, seed: int = 0) -> None:
        if not isinstance(config, AugmentConfig):
            raise TypeError(f"config must be an AugmentConfig, got {type(config).__name__}")
        if int(sample_rate) <= 0 or int(seed) < 0:
            raise ValueError(f"need sample_rate > 0 and seed >= 0, got {sample_rate}, {seed}")
        if config.band_limit.p > 0 and config.band_limit.rate_hz[1] >= sample_rate:
            raise ValueError(f"band_limit.rate_hz {list(config.band_limit.rate_hz)} must be below "
                             f"the sample rate {sample_rate}")
        if config.pitch.p > 0 or config.stretch.p > 0:
            try:
                import python_stretch.Signalsmith  # noqa: F401
            except ImportError as err:
                raise ValueError("pitch and stretch need the python-stretch package (pip install "
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
        for name in _SECTIONS:
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

    def __repr__(self) -> str:
        return f"Augmenter(sample_rate={self.sample_rate}, seed={self.seed}, config={self.config!r})"

    # -- parameter draws (one generator per effect)

    def _draw_time_shift(self, c: TimeShiftConfig, rng: np.random.Generator) -> dict[str, Any]:
        limit = int(round(c.max_ms * self.sample_rate / 1000.0))
        samples = int(rng.integers(-limit, limit, endpoint=True))
        return {"samples": samples, "ms": 1000.0 * samples / self.sample_rate, "mode": c.mode}

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
