"""What waveform augmentation does: one frozen config per effect, and :class:`AugmentConfig`.

Effects, in the order applied, each firing with probability ``p``, parameters uniform in
ranges: speed (soxr resampling: pitch and duration together), pitch (semitones, duration
kept), stretch (tempo, pitch kept; both Signalsmith Stretch), time_shift (zero fill or
circular), silence (digital silence added before and after: the clip grows, nothing is cut;
off by default), reverb (synthetic or recorded room responses), noise (coloured or from files, at
an SNR against the whole utterance's RMS), band_limit (resample down and back up), gain.
:class:`~edgeasr.augment.augmenter.Augmenter` applies them.

Config dicts (YAML) name only what differs from :data:`DEFAULT_AUGMENT`::

    noise: {p: 0.6, snr_db: [5, 20], folders: [/data/musan/noise]}
    reverb: {p: 0}          # or `reverb: off`
    band_limit: {rate_hz: [4000, 8000]}
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from edgeasr.augment.signals import COLORS
from edgeasr.configs import dataclass_from_dict
from edgeasr.errors import ConfigError

__all__ = ["DEFAULT_AUGMENT", "EFFECTS", "AugmentConfig", "BandLimitConfig", "GainConfig",
           "NoiseConfig", "PitchConfig", "ReverbConfig", "SilenceConfig", "SpeedConfig",
           "StretchConfig", "TimeShiftConfig"]


# ------------------------------------------------------------------------------------ configs

def _set(obj: object, name: str, value: object) -> None:
    object.__setattr__(obj, name, value)


def _number(obj: object, name: str, value: Any, cast: Callable[[Any], float] = float) -> float:
    if not isinstance(value, numbers.Real):
        raise ConfigError(f"{type(obj).__name__}.{name}: expected a number, got {value!r}")
    return cast(value)


def _check_p(obj: object, name: str = "p") -> None:
    """A probability field: a float in [0, 1]."""
    value = _number(obj, name, getattr(obj, name))
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{type(obj).__name__}: {name} must be in [0, 1], got {value}")
    _set(obj, name, value)


def _range(obj: object, name: str, low: float = -math.inf, high: float = math.inf,
           cast: Callable[[Any], float] = float) -> tuple[float, float]:
    """Normalise a ``(lo, hi)`` field (a scalar means ``(v, v)``) and check its bounds."""
    value = getattr(obj, name)
    pair = (value, value) if isinstance(value, numbers.Real) else value
    if not isinstance(pair, (list, tuple)) or len(pair) != 2:
        raise ConfigError(f"{type(obj).__name__}.{name}: expected a number or [low, high], "
                          f"got {value!r}")
    lo, hi = _number(obj, name, pair[0], cast), _number(obj, name, pair[1], cast)
    if not (low <= lo <= hi <= high):
        raise ConfigError(f"{type(obj).__name__}.{name}: need {low:g} <= low <= high <= {high:g}, "
                         f"got {value!r}")
    _set(obj, name, (lo, hi))
    return lo, hi


def _names(obj: object, name: str) -> tuple[str, ...]:
    value = getattr(obj, name)
    if not isinstance(value, (str, list, tuple)):
        raise ConfigError(f"{type(obj).__name__}.{name}: expected a name or a list of names, "
                          f"got {value!r}")
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
        _set(self, "max_ms", _number(self, "max_ms", self.max_ms))
        if self.max_ms < 0:
            raise ConfigError(f"TimeShiftConfig.max_ms must be >= 0, got {self.max_ms}")
        if self.mode not in ("zero", "circular"):
            raise ConfigError(f"TimeShiftConfig.mode must be 'zero' or 'circular', got {self.mode!r}")


@dataclass(frozen=True)
class SilenceConfig:
    """Digital silence before (``lead_ms``) and after (``trail_ms``) the utterance, each drawn
    on its own. Unlike a zero-fill ``time_shift`` nothing is cut, so a word at the very edge
    of a tightly cut clip keeps its first and last sounds; reverb and noise, applied later,
    cover the added silence too. Off by default (``p = 0``)."""

    p: float = 0.0
    lead_ms: tuple[float, float] = (0.0, 300.0)
    trail_ms: tuple[float, float] = (0.0, 300.0)

    def __post_init__(self) -> None:
        _check_p(self)
        _range(self, "lead_ms", 0.0, 10000.0)
        _range(self, "trail_ms", 0.0, 10000.0)


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
            raise ConfigError(f"NoiseConfig.colors: unknown {unknown}; known: {sorted(COLORS)}")
        _names(self, "folders")
        _check_p(self, "file_fraction")
        if self.p > 0 and not self.colors and not self.folders:
            raise ConfigError("NoiseConfig: with p > 0, give colors or folders of noise files")


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


#: Effect name -> its config class, in the order the effects are applied.
EFFECTS: dict[str, type] = {
    "speed": SpeedConfig, "pitch": PitchConfig, "stretch": StretchConfig,
    "time_shift": TimeShiftConfig, "silence": SilenceConfig, "reverb": ReverbConfig, "noise": NoiseConfig,
    "band_limit": BandLimitConfig, "gain": GainConfig,
}


def _is_off(options: Any) -> bool:
    """A config section that switches its effect off: ``None``, ``false`` or ``"off"``."""
    return options is None or options is False or options == "off"


@dataclass(frozen=True)
class AugmentConfig:
    """All effects; field order is the order they are applied in. Defaults: the training default."""

    speed: SpeedConfig = SpeedConfig()
    pitch: PitchConfig = PitchConfig()
    stretch: StretchConfig = StretchConfig()
    time_shift: TimeShiftConfig = TimeShiftConfig()
    silence: SilenceConfig = SilenceConfig()
    reverb: ReverbConfig = ReverbConfig()
    noise: NoiseConfig = NoiseConfig()
    band_limit: BandLimitConfig = BandLimitConfig()
    gain: GainConfig = GainConfig()

    def __post_init__(self) -> None:
        for name, cls in EFFECTS.items():
            value = getattr(self, name)
            if not isinstance(value, cls):
                raise ConfigError(f"AugmentConfig.{name}: expected a mapping of {cls.__name__} "
                                  f"options (or off), got {value!r}")

    @property
    def enabled(self) -> bool:
        """Whether any effect can fire."""
        return any(getattr(self, name).p > 0 for name in EFFECTS)

    @classmethod
    def disabled(cls) -> AugmentConfig:
        """Every effect off (``p = 0``), other parameters at their defaults."""
        return cls(**{name: section(p=0.0) for name, section in EFFECTS.items()})

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Plain nested dict (lists, not tuples): YAML/JSON ready, and ``from_dict``'s input."""
        return {name: {key: list(value) if isinstance(value, tuple) else value
                       for key, value in dataclasses.asdict(getattr(self, name)).items()}
                for name in EFFECTS}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None, where: str = "augment") -> AugmentConfig:
        """Defaults overridden by ``data`` (``{effect: {option: value}}``); a section that is
        ``None``/``False``/``"off"`` turns that effect off.

        Raises:
            ConfigError: naming unknown effects or options, or out-of-range values.
        """
        if isinstance(data, Mapping):  # an effect switched off keeps its other defaults
            data = {name: {"p": 0.0} if _is_off(options) else options
                    for name, options in data.items()}
        return dataclass_from_dict(cls, data, where)


DEFAULT_AUGMENT = AugmentConfig()
