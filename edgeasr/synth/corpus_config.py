"""What a synthetic TTS corpus holds: :class:`SyntheticCorpusConfig`.

The config is the whole recipe: with the same config (and text file) the planner
(:mod:`edgeasr.synth.plan`) draws the same sentences, engines, voices, rates and pitches.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from edgeasr.configs import dataclass_from_dict
from edgeasr.errors import ConfigError
from edgeasr.synth.engines import ENGINES
from edgeasr_device.audio import DEFAULT_SAMPLE_RATE

__all__ = ["SyntheticCorpusConfig"]


@dataclass(frozen=True)
class SyntheticCorpusConfig:
    """What to synthesise. Held-out accents and voices never appear in train or dev.

    espeak's voices are set by the accent and variant fields. Other engines' (see
    :data:`edgeasr.synth.engines.ENGINES`) by ``voices`` (training) and ``test_voices`` (held
    out, used only in ``test_variants``), ``{engine: [voice, ...]}``; an engine missing from
    them uses its registry defaults. ``rates`` are espeak words per minute; other engines
    get ``rate / 175`` as their speed factor; ``pitch_range`` and ``volume`` are espeak's only.
    ``text_file``: a UTF-8 file with one sentence per line; ``text_fraction`` of all
    sentences then come from it (normalised, see
    :func:`~edgeasr.synth.text_file.read_text_file`), the rest from
    :func:`~edgeasr.synth.grammar.mixed_sentences`.
    """

    train_accents: tuple[str, ...] = (
        "en", "en-us", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-us-nyc",
    )
    test_accents: tuple[str, ...] = ("en-gb-scotland", "en-029")
    train_variants: tuple[str, ...] = (
        "m1", "m2", "m3", "m4", "m6", "m7", "f1", "f2", "f4", "f5", "klatt", "klatt3",
        "Alex", "Andy", "adam", "david", "linda", "robert", "travis",
    )
    test_variants: tuple[str, ...] = ("m8", "f3", "klatt4", "steph", "quincy", "edward")
    rates: tuple[int, ...] = (140, 175, 210)
    pitch_range: tuple[int, int] = (35, 65)
    volume: int = 75  # espeak amplitude (%); at 100 loud variants (Andy, linda) clip
    num_train: int = 3000
    num_dev: int = 150
    num_test: int = 200
    digit_fraction: float = 0.3
    seen_text_fraction: float = 0.5
    sample_rate: int = DEFAULT_SAMPLE_RATE
    seed: int = 0
    engines: tuple[str, ...] = ("espeak",)
    voices: dict[str, tuple[str, ...]] = field(default_factory=dict)
    test_voices: dict[str, tuple[str, ...]] = field(default_factory=dict)
    text_file: str | None = None
    text_fraction: float = 0.5

    def __post_init__(self) -> None:
        for name in ("train_accents", "test_accents", "train_variants", "test_variants", "rates",
                     "pitch_range", "engines"):  # accept lists (e.g. from YAML), store tuples
            object.__setattr__(self, name, tuple(getattr(self, name)))
            if not getattr(self, name):
                raise ConfigError(f"{name} must not be empty")
        if set(self.train_accents) & set(self.test_accents):
            raise ConfigError("train_accents and test_accents overlap")
        if set(self.train_variants) & set(self.test_variants):
            raise ConfigError("train_variants and test_variants overlap")
        lo, hi = self.pitch_range
        if not 0 <= lo <= hi <= 100:
            raise ConfigError(f"pitch_range must satisfy 0 <= lo <= hi <= 100, got {self.pitch_range}")
        if min(self.num_train, self.num_dev, self.num_test) < 0:
            raise ConfigError("utterance counts must be >= 0")
        if not (0 <= self.volume <= 200 and 0.0 <= self.seen_text_fraction <= 1.0):
            raise ConfigError("need 0 <= volume <= 200 and 0 <= seen_text_fraction <= 1")
        self._check_engine_fields()
        if self.text_file is not None:
            object.__setattr__(self, "text_file", str(self.text_file))
        if not 0.0 <= self.text_fraction <= 1.0:
            raise ConfigError(f"text_fraction must be in [0, 1], got {self.text_fraction}")

    def _check_engine_fields(self) -> None:
        unknown = [e for e in self.engines if e not in ENGINES]
        if unknown or len(set(self.engines)) != len(self.engines):
            raise ConfigError(f"engines must be distinct names from {list(ENGINES)}, got {self.engines}")
        for name in ("voices", "test_voices"):
            table = {str(k): (v,) if isinstance(v, str) else tuple(v)
                     for k, v in dict(getattr(self, name)).items()}
            object.__setattr__(self, name, table)
            if "espeak" in table:
                raise ConfigError(f"{name}: espeak voices are set by the accent/variant fields")
            if set(table) - set(self.engines):
                raise ConfigError(f"{name} names engines missing from engines: "
                                  f"{sorted(set(table) - set(self.engines))}")
        for engine in self.engines:
            if engine == "espeak":
                continue
            train, test = self.engine_voices(engine)
            if not train:
                raise ConfigError(f"engine {engine!r} has no training voices")
            if set(train) & set(test):
                raise ConfigError(f"{engine} training voices and test_voices overlap: "
                                  f"{sorted(set(train) & set(test))}")

    def engine_voices(self, engine: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """``(training voices, held-out voices)`` of a non-espeak engine."""
        spec = ENGINES[engine]
        return (self.voices.get(engine, spec.train_voices),
                self.test_voices.get(engine, spec.test_voices))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None, where: str = "corpus") -> SyntheticCorpusConfig:
        """Build from a mapping (a recipe YAML's ``corpus:`` section); unknown keys are refused."""
        return dataclass_from_dict(cls, data, where)

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_json(), sort_keys=True))

    def to_json(self) -> dict:
        """Plain-JSON form (tuples become lists), as stored in ``corpus.json``."""
        return json.loads(json.dumps(dataclasses.asdict(self)))
