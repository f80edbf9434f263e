"""Offline speech synthesis with libespeak-ng through ctypes.

The shared library and its voice data come from the ``espeakng-loader`` wheel.
libespeak-ng keeps global state (one current voice, one callback), so the library is
initialised once per process and every synthesis call holds a module-level lock.

Voices are named the way espeak-ng names them: an accent (``"en-us"``,
``"en-gb-scotland"``, ...) optionally followed by ``+variant`` (``"en-us+m3"``), where
the variant is the name of a file in ``espeak-ng-data/voices/!v``.

:class:`EspeakEngine` puts :class:`EspeakSynthesizer` behind the
:class:`~edgeasr.synth.engines.TTSEngine` interface.
"""

from __future__ import annotations

import ctypes
import functools
import threading
from pathlib import Path

import numpy as np

from edgeasr.errors import ConfigError
from edgeasr.synth.engines import ESPEAK_BASE_RATE

__all__ = [
    "EspeakEngine",
    "EspeakSynthesizer",
    "list_english_voices",
    "list_variants",
    "split_voice_name",
]

# espeak_AUDIO_OUTPUT: synthesise in the calling thread and hand samples to the callback.
_AUDIO_OUTPUT_SYNCHRONOUS = 2
# espeak_PARAMETER values.
_PARAM_RATE = 1
_PARAM_VOLUME = 2
_PARAM_PITCH = 3
# espeak_POSITION_TYPE / flags.
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_EE_OK = 0

RATE_MIN, RATE_MAX = 80, 450  # words per minute, as clamped by espeak-ng
PITCH_MIN, PITCH_MAX = 0, 100
VOLUME_MIN, VOLUME_MAX = 0, 200  # percent; espeak-ng clips loud variants at 100

# English language files that are not accents of spoken English.
_NON_ACCENT_VOICES = frozenset({"en-shaw"})  # Shavian alphabet

_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)

_lock = threading.RLock()
_state: _Library | None = None


def _data_path() -> Path:
    try:
        import espeakng_loader
    except ImportError as exc:  # pragma: no cover - dependency is declared
        raise RuntimeError("espeakng-loader is not installed (pip install espeakng-loader)") from exc
    try:
        return Path(espeakng_loader.get_data_path())
    except Exception as exc:
        raise RuntimeError(f"espeak-ng data directory not found: {exc}") from exc


def _library_path() -> str:
    import espeakng_loader

    return espeakng_loader.get_library_path()


@functools.lru_cache(maxsize=1)
def _voice_files() -> dict[str, str]:
    """Map lower-case accent names to their language-file names (all languages)."""
    lang_dir = _data_path() / "lang"
    names: dict[str, str] = {}
    for path in lang_dir.rglob("*"):
        if path.is_file():
            names[path.name.lower()] = path.name
    return names


def list_english_voices() -> list[str]:
    """Return the English accents shipped with espeak-ng, lower-case and sorted.

    Discovered from the ``lang/`` folder of the data directory, e.g. ``en``, ``en-029``,
    ``en-gb-scotland``, ``en-gb-x-rp``, ``en-us``, ``en-us-nyc``. Script-only entries
    such as ``en-shaw`` (Shavian alphabet) are left out.
    """
    return sorted(
        name
        for name in _voice_files()
        if (name == "en" or name.startswith("en-")) and name not in _NON_ACCENT_VOICES
    )


@functools.lru_cache(maxsize=1)
def _variant_names() -> tuple[str, ...]:
    variant_dir = _data_path() / "voices" / "!v"
    if not variant_dir.is_dir():
        raise RuntimeError(f"espeak-ng variant directory missing: {variant_dir}")
    return tuple(sorted(p.name for p in variant_dir.iterdir() if p.is_file()))


def list_variants() -> list[str]:
    """Return the voice variants (file names in ``espeak-ng-data/voices/!v``), sorted.

    Names are case-sensitive (``m3`` and ``M3`` would be different files).
    """
    return list(_variant_names())


def split_voice_name(voice: str, variant: str | None = None) -> tuple[str, str | None]:
    """Split ``"en-us+m3"`` into ``("en-us", "m3")``; an explicit ``variant`` wins."""
    accent, plus, embedded = voice.partition("+")
    if variant is None and plus:
        variant = embedded or None
    return accent.strip().lower(), variant


class _Library:
    """The loaded, initialised C library plus the buffer its callback fills."""

    def __init__(self) -> None:
        data_path = _data_path()
        try:
            lib = ctypes.CDLL(_library_path())
        except OSError as exc:
            raise RuntimeError(f"cannot load libespeak-ng: {exc}") from exc
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
            ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
        ]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_Synchronize.argtypes = []
        lib.espeak_Synchronize.restype = ctypes.c_int

        sample_rate = lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, str(data_path).encode(), 0
        )
        if sample_rate <= 0:
            raise RuntimeError(f"espeak_Initialize failed (returned {sample_rate}) with data {data_path}")
        self.lib = lib
        self.sample_rate = int(sample_rate)
        self.chunks: list[np.ndarray] = []
        # Keep a reference: ctypes callbacks must outlive the C side's use of them.
        self._callback = _SynthCallback(self._on_samples)
        lib.espeak_SetSynthCallback(self._callback)

    def _on_samples(self, wav, num_samples, _events) -> int:
        if wav and num_samples > 0:
            self.chunks.append(np.ctypeslib.as_array(wav, shape=(num_samples,)).copy())
        return 0  # 0 = keep synthesising


def _library() -> _Library:
    global _state
    with _lock:
        if _state is None:
            _state = _Library()
        return _state


class EspeakSynthesizer:
    """Text to 22.05 kHz float32 speech with libespeak-ng.

    Instances are cheap: they share one process-wide initialised library.
    """

    def __init__(self) -> None:
        self._lib = _library()

    @property
    def sample_rate(self) -> int:
        """Native output sample rate of espeak-ng (22050 Hz)."""
        return self._lib.sample_rate

    def synthesize(
        self,
        text: str,
        voice: str = "en-us",
        variant: str | None = None,
        rate: int = 175,
        pitch: int = 50,
        volume: int = 100,
    ) -> np.ndarray:
        """Speak ``text`` and return mono float32 samples in [-1, 1] at ``sample_rate``.

        Args:
            text: UTF-8 text to speak.
            voice: accent name such as ``"en-us"``; ``"en-us+m3"`` also selects a variant.
            variant: variant name from :func:`list_variants` (overrides one in ``voice``).
            rate: speaking rate in words per minute (80-450).
            pitch: base pitch, 0-100 (50 is the voice's normal pitch).
            volume: amplitude in percent, 0-200. Some variants (e.g. ``Andy``) saturate
                int16 at 100; lower values avoid that clipping.

        Raises:
            ConfigError: unknown voice or variant, or rate/pitch/volume out of range.
            RuntimeError: the library rejected the voice or failed to synthesise.
        """
        accent, variant = split_voice_name(voice, variant)
        if accent not in _voice_files():
            raise ConfigError(
                f"unknown espeak voice {accent!r}; English voices: {', '.join(list_english_voices())}"
            )
        if variant is not None and variant not in _variant_names():
            raise ConfigError(f"unknown espeak variant {variant!r}; see list_variants()")
        if not RATE_MIN <= rate <= RATE_MAX:
            raise ConfigError(f"rate must be in [{RATE_MIN}, {RATE_MAX}] words/min, got {rate}")
        if not PITCH_MIN <= pitch <= PITCH_MAX:
            raise ConfigError(f"pitch must be in [{PITCH_MIN}, {PITCH_MAX}], got {pitch}")
        if not VOLUME_MIN <= volume <= VOLUME_MAX:
            raise ConfigError(f"volume must be in [{VOLUME_MIN}, {VOLUME_MAX}], got {volume}")
        name = accent if variant is None else f"{accent}+{variant}"
        data = text.encode("utf-8")

        state = self._lib
        with _lock:
            lib = state.lib
            err = lib.espeak_SetVoiceByName(name.encode("utf-8"))
            if err != _EE_OK:
                raise RuntimeError(f"espeak_SetVoiceByName({name!r}) failed with code {err}")
            lib.espeak_SetParameter(_PARAM_RATE, int(rate), 0)
            lib.espeak_SetParameter(_PARAM_PITCH, int(pitch), 0)
            lib.espeak_SetParameter(_PARAM_VOLUME, int(volume), 0)
            state.chunks = []
            err = lib.espeak_Synth(data, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
            if err == _EE_OK:
                err = lib.espeak_Synchronize()
            chunks, state.chunks = state.chunks, []
        if err != _EE_OK:
            raise RuntimeError(f"espeak_Synth failed with code {err} for voice {name!r}")
        if not chunks:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate(chunks).astype(np.float32) / 32768.0


class EspeakEngine:
    """:class:`EspeakSynthesizer` behind the :class:`~edgeasr.synth.engines.TTSEngine` interface.

    ``rate`` 1.0 is 175 words per minute; ``pitch`` and ``volume`` are espeak's own
    (0-100 and percent) and are only offered by this engine.
    """

    name = "espeak"

    def __init__(self) -> None:
        self._synth = EspeakSynthesizer()

    @staticmethod
    def status() -> str:
        """``"ok"`` or why espeak-ng cannot run here."""
        try:
            _data_path()
        except RuntimeError as exc:
            return str(exc)
        return "ok"

    @property
    def sample_rate(self) -> int:
        """espeak-ng's native rate, 22050 Hz."""
        return self._synth.sample_rate

    def voices(self) -> list[str]:
        """Every English accent, alone and with every variant (``"en-us"``, ``"en-us+m3"``...)."""
        accents = list_english_voices()
        return accents + [f"{a}+{v}" for a in accents for v in list_variants()]

    def synthesize(self, text: str, voice: str, rate: float = 1.0, *, pitch: int = 50,
                   volume: int = 100) -> np.ndarray:
        """Speak ``text`` with ``voice`` (``"en-us+m3"``) at ``rate`` x 175 words/minute."""
        if not text.strip():  # espeak would return a few ms of silence
            return np.zeros(0, dtype=np.float32)
        wpm = round(rate * ESPEAK_BASE_RATE)
        return self._synth.synthesize(text, voice=voice, rate=wpm, pitch=pitch, volume=volume)
