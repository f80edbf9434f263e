"""The base of TTS engines that run a program per utterance: a text file in, a wav file out.

A subclass names its programs and says two things: which voices are installed
(:meth:`CommandEngine.installed_voices`) and which command line speaks a voice at a rate
(:meth:`CommandEngine.command`). Checking the voice and rate, the temporary files,
running the program, reading its wav back as mono and resampling it to
:attr:`CommandEngine.sample_rate` are shared.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import ClassVar

import numpy as np
import soundfile as sf
import soxr

from edgeasr.errors import ConfigError
from edgeasr_device.audio import DEFAULT_SAMPLE_RATE

__all__ = ["CommandEngine", "run_synthesis_command"]


class CommandEngine:
    """A :class:`~edgeasr.synth.engines.TTSEngine` whose synthesiser is a program on PATH.

    Class attributes a subclass sets:
        name: the engine's registry name.
        program: the program :meth:`command` runs (looked up on PATH).
        required: every program that must be on PATH (default: ``program``).
        missing_message / no_voices_message: what :meth:`status` says when a program is
            missing / when no voice is installed.

    Args:
        sample_rate: the rate of the audio returned (the program's output is resampled).
        timeout: seconds one call may take.
    """

    name: ClassVar[str]
    program: ClassVar[str]
    required: ClassVar[tuple[str, ...]] = ()
    missing_message: ClassVar[str]
    no_voices_message: ClassVar[str]

    def __init__(self, sample_rate: int = DEFAULT_SAMPLE_RATE, timeout: float = 120.0) -> None:
        self.sample_rate = sample_rate
        self._timeout = timeout
        self._program = shutil.which(self.program) or self.program

    # -- what a subclass provides

    @classmethod
    def installed_voices(cls) -> tuple[str, ...]:
        """The voices the installed program offers (empty when it is missing)."""
        raise NotImplementedError

    def command(self, voice: str, rate: float) -> list[str]:
        """The argument list that speaks ``{text}`` (a file) into ``{wav}`` with ``voice``."""
        raise NotImplementedError

    # -- shared

    @classmethod
    def status(cls) -> str:
        """``"ok"`` or why the engine cannot run here."""
        if any(shutil.which(program) is None for program in cls.required or (cls.program,)):
            return cls.missing_message
        if not cls.installed_voices():
            return cls.no_voices_message
        return "ok"

    def voices(self) -> list[str]:
        """Voice ids accepted by :meth:`synthesize`."""
        return list(self.installed_voices())

    def synthesize(self, text: str, voice: str, rate: float = 1.0) -> np.ndarray:
        """Speak ``text`` with ``voice``; ``rate`` > 1 is faster. Float32 ``(N,)``.

        Raises:
            ConfigError: an unknown voice or a rate <= 0.
            RuntimeError: the program failed, timed out or wrote no readable wav.
        """
        installed = self.installed_voices()
        if voice not in installed:
            raise ConfigError(f"unknown {self.name} voice {voice!r}; installed: {installed}")
        if rate <= 0:
            raise ConfigError(f"rate must be > 0, got {rate}")
        if not text.strip():
            return np.zeros(0, dtype=np.float32)
        return run_synthesis_command(self.command(voice, rate), text, self.sample_rate,
                                     self._timeout)


def run_synthesis_command(args: list[str], text: str, sample_rate: int,
                          timeout: float = 120.0) -> np.ndarray:
    """Run a synthesiser program and return its wav output, mono, resampled to ``sample_rate``.

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
            done = subprocess.run(argv, check=False, capture_output=True, text=True,
                                  timeout=timeout, stdin=subprocess.DEVNULL)
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
