"""What every CTC decoder shares: options, the decoder interface, and the result types.

A decoder turns the model output for one utterance, ``log_probs`` of shape ``(T, V)`` (T
frames, V classes including the blank, log-softmax over V), into a :class:`Transcript`.
Decoders register themselves under a method name (:func:`register_decoder`);
:class:`DecodingOptions` names one, and :func:`make_decoder` builds it for a vocabulary and a
frame duration. A new decoder is one module with a registered class plus its import in
``edgeasr_device.decoding``.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, Protocol, TypeVar, runtime_checkable

import numpy as np

from ..errors import DecodingError
from ..vocab import PIECES, Vocabulary
from .hotwords import parse_hotword

__all__ = [
    "EMPTY_TRANSCRIPT",
    "Alternative",
    "Decoder",
    "DecodingOptions",
    "Intent",
    "Transcript",
    "Word",
    "decoder_names",
    "log_softmax",
    "make_decoder",
    "register_decoder",
]


@dataclass(frozen=True)
class Word:
    """One recognised word; ``start``/``end`` in seconds, ``confidence`` in [0, 1]."""

    text: str
    start: float
    end: float
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe ``{"text", "start", "end", "confidence"}``."""
        return {"text": self.text, "start": self.start, "end": self.end,
                "confidence": self.confidence}


@dataclass(frozen=True)
class Intent:
    """A recognised command: the intent's name and its slot values.

    A slot's value is the ``out:`` value of an ``in:``/``out:`` list entry, the number of a
    range list, the text of a plain list entry, or a fixed value of the intent's ``slots:``.
    """

    name: str
    slots: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe ``{"name", "slots": {slot: value}}``."""
        return {"name": self.name, "slots": dict(self.slots)}


@dataclass(frozen=True)
class Alternative:
    """One entry of an n-best list: the text, its log score (acoustic + language model +
    bonuses, what the list is ranked by) and its share of the list's probability."""

    text: str
    score: float
    posterior: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe ``{"text", "score", "posterior"}``."""
        return {"text": self.text, "score": self.score, "posterior": self.posterior}


@dataclass(frozen=True)
class Transcript:
    """Decoded utterance: words joined by single spaces, and their mean confidence.

    ``confidence`` is 1.0 for an empty transcript (nothing was claimed). With a command
    grammar, ``intent`` is the parsed command, or None and ``no_match`` says why not.
    ``alternatives`` is the n-best list of beam search, best first (empty unless nbest > 1).
    """

    text: str
    words: tuple[Word, ...]
    confidence: float
    intent: Intent | None = None
    no_match: str | None = None
    alternatives: tuple[Alternative, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe ``{"text", "confidence", "words": [Word.to_dict(), ...]}``, plus
        ``"intent"`` (and ``"no_match"``) when a grammar was used."""
        out = {"text": self.text, "confidence": self.confidence,
               "words": [w.to_dict() for w in self.words]}
        if self.intent is not None or self.no_match is not None:
            out["intent"] = self.intent.to_dict() if self.intent is not None else None
        if self.no_match is not None:
            out["no_match"] = self.no_match
        if self.alternatives:
            out["alternatives"] = [a.to_dict() for a in self.alternatives]
        return out


#: The transcript of an utterance in which nothing was recognised.
EMPTY_TRANSCRIPT = Transcript(text="", words=(), confidence=1.0)


@runtime_checkable
class Decoder(Protocol):
    """Log-probabilities of one utterance -> transcript."""

    def decode(self, log_probs: np.ndarray) -> Transcript:
        """``(T, V)`` log-softmax scores -> :class:`Transcript` (times in seconds)."""
        ...


_D = TypeVar("_D")
_DECODERS: dict[str, Callable[..., Decoder]] = {}


def register_decoder(method: str) -> Callable[[type[_D]], type[_D]]:
    """Class decorator: make a decoder class available as ``DecodingOptions(method=...)``.

    The class must provide ``from_options(options, vocabulary, frame_duration)``.
    """
    def register(cls: type[_D]) -> type[_D]:
        if method in _DECODERS:
            raise RuntimeError(f"decoding method {method!r} is registered twice")
        _DECODERS[method] = cls.from_options  # type: ignore[attr-defined]
        return cls

    return register


def decoder_names() -> tuple[str, ...]:
    """The registered decoding methods, sorted."""
    return tuple(sorted(_DECODERS))


#: Word bonus of beam search with a language model when ``word_bonus`` is not given.
LM_WORD_BONUS = 1.0

#: Default of ``DecodingOptions.grammar_threshold`` (nats per speech frame).
GRAMMAR_THRESHOLD = 1.0
#: Default of ``DecodingOptions.grammar_min_confidence``.
GRAMMAR_MIN_CONFIDENCE = 0.05
GRAMMAR_MODES = ("strict", "bias")


@dataclass(frozen=True)
class DecodingOptions:
    """How log-probabilities become text. Frozen; :meth:`to_dict`/:meth:`from_dict` round-trip
    through JSON. Files named here (``lm``) are opened by :func:`make_decoder`.

    Attributes:
        method: a registered decoding method (:func:`decoder_names`): ``"greedy"`` is the
            best path (arg-max per frame, repeats collapsed, blanks dropped); ``"beam"`` is
            CTC prefix beam search, which the other options below need.
        beam_width: prefixes kept per frame (beam search).
        nbest: hypotheses listed in ``Transcript.alternatives`` (1: none listed).
        lm: path of a word n-gram language model (ARPA text, ``.gz``, or compiled by
            ``edgeasr-device lm compile``), or None.
        lm_weight: weight of the language model's natural-log probabilities (>= 0).
        word_bonus: added per word (natural log); offsets the language model's cost of words.
            None: :data:`LM_WORD_BONUS` with an ``lm``, else 0 (see :attr:`bonus`).
        hotwords: ``"phrase"`` or ``"phrase:weight"`` strings; each boosts a word or phrase.
        token_min_logp: a token whose log-probability at a frame is below this is not tried
            there (the frame's best token always is); ``-inf`` tries every token.
        beam_threshold: prefixes scoring more than this (natural log) below the best are
            dropped at each frame; ``inf`` keeps ``beam_width`` whatever their scores.
        blank_skip: a frame where the blank has at least this probability starts no new
            token, only carries the prefixes on; None (default) searches every frame. A
            third to a half of a CTC model's frames are such, yet on the starter model's
            real dev sets 0.999 was only 0.95-1.05x as fast with an LM and 1.2x on digit
            strings without one (docs/benchmarks.md, ``benchmarks/decoding_ab.py``), with no
            transcript changed with the LM.
        oov_penalty: natural log taken off a word the ``lm`` does not know (on top of its
            ``<unk>`` probability, before ``lm_weight``); hotwords are exempt.
        grammar: Home Assistant sentence templates (hassil YAML file or folder) for
            ``method="grammar"``, which returns text, intent and slot values.
        grammar_mode: ``"strict"`` (only sentences of the grammar, searched with
            ``beam_width``) or ``"bias"`` (beam search with ``lm`` and the options above,
            pulled toward an n-gram of the grammar; the intent is reported when it parses).
        grammar_threshold: strict mode answers "no match" when the best sentence of the
            grammar is more than this many nats per speech frame less likely than the
            unconstrained best path.
        grammar_min_confidence: strict mode also answers "no match" when a word of the best
            sentence has a confidence below this (``exp`` of minus its mean per-frame gap to
            the best path: a word the model did not hear).
        grammar_skip_unusable: leave out templates the model cannot say (characters outside
            its vocabulary, wildcard lists) instead of refusing the grammar.
    """

    method: str = "greedy"
    beam_width: int = 16
    nbest: int = 1
    lm: str | None = None
    lm_weight: float = 0.5
    word_bonus: float | None = None
    hotwords: tuple[str, ...] = ()
    token_min_logp: float = -10.0
    beam_threshold: float = 10.0
    blank_skip: float | None = None
    oov_penalty: float = 20.0
    grammar: str | None = None
    grammar_mode: str = "strict"
    grammar_threshold: float = GRAMMAR_THRESHOLD
    grammar_min_confidence: float = GRAMMAR_MIN_CONFIDENCE
    grammar_skip_unusable: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.method, str) or self.method not in _DECODERS:
            raise DecodingError(f"unknown decoding method {self.method!r}: choose one of "
                                f"{', '.join(decoder_names())}")
        for name in ("beam_width", "nbest"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise DecodingError(f"{name} must be a whole number >= 1, got {value!r}")
            object.__setattr__(self, name, int(value))
        if self.nbest > self.beam_width:
            raise DecodingError(f"nbest ({self.nbest}) cannot exceed beam_width "
                                f"({self.beam_width}): raise the beam width")
        for name in ("lm_weight", "word_bonus", "token_min_logp", "beam_threshold",
                     "oov_penalty"):
            value = getattr(self, name)
            if value is None and name == "word_bonus":
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) \
                    or math.isnan(value) or (math.isinf(value) and name not in (
                        "token_min_logp", "beam_threshold")):
                raise DecodingError(f"{name} must be a number, got {value!r}")
            object.__setattr__(self, name, float(value))
        if self.lm_weight < 0:
            raise DecodingError(f"lm_weight must be >= 0, got {self.lm_weight}")
        if self.oov_penalty < 0:
            raise DecodingError(f"oov_penalty must be >= 0, got {self.oov_penalty}")
        if self.beam_threshold <= 0:
            raise DecodingError(f"beam_threshold must be > 0, got {self.beam_threshold}")
        if self.blank_skip is not None:
            skip = self.blank_skip
            if isinstance(skip, bool) or not isinstance(skip, (int, float, np.floating)) \
                    or not 0.0 < skip <= 1.0:
                raise DecodingError(f"blank_skip must be a probability in (0, 1] or None, "
                                    f"got {skip!r}")
            object.__setattr__(self, "blank_skip", float(skip))
        if self.lm is not None:
            if isinstance(self.lm, os.PathLike):
                object.__setattr__(self, "lm", os.fspath(self.lm))
            if not isinstance(self.lm, str) or not self.lm:
                raise DecodingError(f"lm must be the path of a language-model file, "
                                    f"got {self.lm!r}")
        hotwords = self.hotwords
        if isinstance(hotwords, str) or not isinstance(hotwords, (tuple, list)):
            raise DecodingError(f"hotwords must be a list of 'phrase[:weight]' strings, "
                                f"got {hotwords!r}")
        object.__setattr__(self, "hotwords", tuple(hotwords))
        # the syntax is checked here, the spelling against a vocabulary by make_decoder
        for spec in self.hotwords:
            parse_hotword(spec)
        if self.method == "greedy":
            used = [flag for flag, on in (("lm", self.lm is not None),
                                          ("hotwords", bool(self.hotwords)),
                                          ("nbest", self.nbest > 1)) if on]
            if used:
                raise DecodingError(f"{', '.join(used)} need beam search: use "
                                    "method='beam' (the CLIs choose it when you give --lm, "
                                    "--hotword, --nbest or --beam-width)")

        _check_grammar_options(self)

    @property
    def bonus(self) -> float:
        """The word bonus in effect: ``word_bonus``, or its default when that is None."""
        if self.word_bonus is not None:
            return self.word_bonus
        return LM_WORD_BONUS if self.lm is not None else 0.0

    @property
    def uses_beam(self) -> bool:
        """True unless this is plain greedy decoding."""
        return self.method != "greedy"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe ``{field: value}``; :meth:`from_dict` reads it back."""
        data = asdict(self)
        data["hotwords"] = list(self.hotwords)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DecodingOptions:
        """Build from :meth:`to_dict` output; unknown keys are refused."""
        if not isinstance(data, Mapping):
            raise DecodingError(f"decoding options must be a mapping, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise DecodingError(f"unknown decoding option(s) {', '.join(unknown)}: the options "
                                f"are {', '.join(sorted(known))}")
        return cls(**dict(data))

    def replace(self, **changes: Any) -> DecodingOptions:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)


def _check_grammar_options(options: DecodingOptions) -> None:
    if isinstance(options.grammar, os.PathLike):
        object.__setattr__(options, "grammar", os.fspath(options.grammar))
    if (options.method == "grammar") != (options.grammar is not None):
        raise DecodingError("method 'grammar' needs grammar= (a hassil YAML file or folder), "
                            "and grammar= needs method='grammar'")
    if not isinstance(options.grammar, (str, type(None))) or options.grammar == "":
        raise DecodingError(f"grammar must be the path of a grammar file, got "
                            f"{options.grammar!r}")
    if options.grammar_mode not in GRAMMAR_MODES:
        raise DecodingError(f"unknown grammar_mode {options.grammar_mode!r}: choose one of "
                            f"{', '.join(GRAMMAR_MODES)}")
    if options.method == "grammar" and options.grammar_mode == "strict" and (
            options.lm is not None or options.hotwords or options.nbest > 1):
        raise DecodingError("lm, hotwords and nbest are used by grammar_mode='bias'; the "
                            "strict grammar search does not take them")
    threshold = options.grammar_threshold
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.floating)) \
            or not threshold >= 0:
        raise DecodingError(f"grammar_threshold must be a number >= 0 (nats per speech "
                            f"frame), got {threshold!r}")
    object.__setattr__(options, "grammar_threshold", float(threshold))
    least = options.grammar_min_confidence
    if isinstance(least, bool) or not isinstance(least, (int, float, np.floating)) \
            or not 0 <= least <= 1:
        raise DecodingError(f"grammar_min_confidence must be a number in [0, 1], got "
                            f"{least!r}")
    object.__setattr__(options, "grammar_min_confidence", float(least))


def make_decoder(options: DecodingOptions, vocabulary: Vocabulary,
                 frame_duration: float) -> Decoder:
    """The decoder ``options`` name, for a model with this vocabulary and frame duration
    (seconds per output frame).

    Raises:
        DecodingError: a language model, hotwords, a word bonus or a grammar with a piece
            vocabulary (they spell words in characters; greedy and plain beam search work).
    """
    if vocabulary.kind == PIECES:
        used = [flag for flag, on in (("--lm", options.lm is not None),
                                      ("--hotword", bool(options.hotwords)),
                                      ("--word-bonus", options.bonus != 0.0),
                                      ("--grammar", options.grammar is not None)) if on]
        if used:
            raise DecodingError(
                f"{', '.join(used)} need a character model for now: this model's vocabulary "
                "is SentencePiece pieces; decode it greedily or by beam search without them")
    return _DECODERS[options.method](options, vocabulary, frame_duration)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Normalise scores over the last axis: ``(..., V)`` logits -> ``(..., V)`` log-probs.

    Computed in the input's dtype, after subtracting the per-row maximum.
    """
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
