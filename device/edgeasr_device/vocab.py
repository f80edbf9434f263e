"""Vocabulary of a CTC model: class index <-> token string.

``tokens[i]`` is the string for output class ``i``; ``tokens[blank_index]``
is the CTC blank ``"<blank>"``. Two kinds:

- ``"characters"`` (the default; metadata without a ``kind`` is this): apart from the
  blank every token is normally a single character, words are separated by the space
  token, and :meth:`Vocabulary.encode` maps text one character per token.
- ``"pieces"``: SentencePiece pieces verbatim (blank at 0, piece id ``i`` at class
  ``i + 1``). A piece that starts with :data:`WORD_START` (U+2581) starts a word; there is
  no space token. Text is cut into pieces at training time (``edgeasr.text.subword``); the
  device only joins them (:meth:`Vocabulary.decode`), so it never needs sentencepiece.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import VocabularyError

__all__ = ["BLANK", "CHARACTERS", "FRENCH_LETTERS", "KINDS", "PIECES", "WORD_START",
           "Vocabulary", "normalize_text"]

BLANK = "<blank>"
CHARACTERS, PIECES = "characters", "pieces"
KINDS = (CHARACTERS, PIECES)
#: SentencePiece's word-start marker: a piece beginning with it is the start of a word.
WORD_START = "\u2581"
#: Accented letters of written French (with the ligatures), after ``a``-``z``.
FRENCH_LETTERS = "àâæçéèêëîïôœùûüÿ"
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u00b4": "'"})
_WHITESPACE = re.compile(r"\s+")


def normalize_text(text: str, lowercase: bool = True) -> str:
    """Normalise text before encoding.

    Unicode NFC, typographic apostrophes (’ ‘ ʼ ´) to ``'``, runs of whitespace to
    a single space, leading/trailing whitespace removed, and (if ``lowercase``)
    lower-cased. Accents are kept: ``"é"`` stays ``"é"``.
    """
    text = unicodedata.normalize("NFC", text).translate(_APOSTROPHES)
    text = _WHITESPACE.sub(" ", text).strip()
    return text.lower() if lowercase else text


@dataclass(frozen=True)
class Vocabulary:
    """Output classes of a CTC model.

    Attributes:
        tokens: ``tokens[i]`` is the string for class ``i``.
        blank_index: index of the CTC blank; ``tokens[blank_index] == "<blank>"``.
        kind: ``"characters"`` or ``"pieces"`` (see the module docstring).
    """

    tokens: tuple[str, ...]
    blank_index: int
    kind: str = CHARACTERS
    _ids: Mapping[str, int] = field(init=False, repr=False, compare=False)
    _lowercase: bool = field(init=False, repr=False, compare=False)
    _starts: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            tokens = tuple(self.tokens) if not isinstance(self.tokens, str) else None
        except TypeError:
            tokens = None
        if tokens is None or not tokens or not all(isinstance(t, str) and t for t in tokens):
            raise VocabularyError(f"vocabulary tokens must be a non-empty sequence of non-empty "
                                  f"strings, got {self.tokens!r}; fix the vocabulary")
        dupes = sorted(t for t, n in Counter(tokens).items() if n > 1)
        if dupes:
            raise VocabularyError(f"vocabulary tokens must be unique; duplicated: "
                                  f"{', '.join(map(repr, dupes))}; remove the duplicates")
        blank = self.blank_index
        if isinstance(blank, bool) or not isinstance(blank, (int, np.integer)) \
                or not 0 <= blank < len(tokens):
            raise VocabularyError(f"vocabulary blank_index {blank!r} is not an index into its "
                                  f"{len(tokens)} tokens; fix blank_index")
        if tokens[blank] != BLANK:
            raise VocabularyError(f"vocabulary token at blank_index {blank} is {tokens[blank]!r}, "
                                  f"expected {BLANK!r}; fix the tokens or blank_index")
        if self.kind not in KINDS:
            raise VocabularyError(f"vocabulary kind {self.kind!r} is not one of "
                                  f"{', '.join(KINDS)}; re-export the model or upgrade "
                                  "edgeasr-device")
        if self.kind == PIECES:
            _check_pieces(tokens, int(blank))
        object.__setattr__(self, "tokens", tokens)
        object.__setattr__(self, "blank_index", int(blank))
        object.__setattr__(self, "_ids", {t: i for i, t in enumerate(tokens) if i != blank})
        object.__setattr__(self, "_lowercase", not any(t != t.lower() for t in tokens
                                                       if t != BLANK))
        starts = np.array([self.kind == PIECES and t.startswith(WORD_START) for t in tokens])
        starts.setflags(write=False)
        object.__setattr__(self, "_starts", starts)

    @property
    def size(self) -> int:
        """Number of classes ``V`` (including the blank)."""
        return len(self.tokens)

    @property
    def space_index(self) -> int | None:
        """Index of the word separator ``" "``, or None if there is none (always None for
        pieces: words start at pieces with :data:`WORD_START` instead)."""
        return self._ids.get(" ") if self.kind == CHARACTERS else None

    @property
    def word_starts(self) -> np.ndarray:
        """``(V,)`` bool, read-only: classes that start a new word (pieces beginning with
        :data:`WORD_START`); all False for characters, whose words end at the space token."""
        return self._starts

    def token_text(self, index: int) -> str:
        """What class ``index`` adds to the text of its word: the token, without the
        word-start marker for pieces."""
        token = self.tokens[index]
        return token.lstrip(WORD_START) if self.kind == PIECES else token

    def encode(self, text: str) -> list[int]:
        """Map text to class ids, one per character, after :func:`normalize_text`.

        Text is lower-cased unless the vocabulary has upper-case tokens.

        Raises:
            VocabularyError: listing every character that has no token; always for a piece
                vocabulary (its text is cut into pieces by the SentencePiece model at
                training time).
        """
        if self.kind == PIECES:
            raise VocabularyError(
                "this model's vocabulary is SentencePiece pieces: text cannot be cut into them "
                "on the device (training does it with the run's tokenizer.model); features "
                "that spell text in tokens (--lm, --hotword, --grammar) need a character "
                "model for now")
        norm = normalize_text(text, lowercase=self._lowercase)
        ids = self._ids
        missing = list(dict.fromkeys(c for c in norm if c not in ids))
        if missing:
            shown = norm if len(norm) <= 80 else norm[:77] + "..."
            raise VocabularyError(
                f"characters not in the vocabulary: {', '.join(map(repr, missing))} "
                f"in \"{shown}\"; remove or transliterate them, or train with a vocabulary "
                "that includes them")
        return [ids[c] for c in norm]

    def decode(self, ids: Iterable[int] | np.ndarray) -> str:
        """Join the tokens of ``ids`` (shape ``(L,)``), skipping the blank.

        Pieces: :data:`WORD_START` becomes a space, and runs of whitespace are collapsed and
        stripped. No CTC collapsing is done here: see :mod:`edgeasr_device.decoding`.
        """
        arr = np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids)
        if arr.size == 0:
            return ""
        if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
            raise VocabularyError(f"token ids must be a 1-D sequence of integers, got "
                                  f"dtype {arr.dtype} shape {arr.shape}")
        bad = (arr < 0) | (arr >= self.size)
        if bad.any():
            raise VocabularyError(f"token ids {sorted(set(arr[bad].tolist()))[:10]} are out of "
                                  f"range for a vocabulary of {self.size} classes; the model "
                                  "and vocabulary do not match")
        tokens = self.tokens
        text = "".join(tokens[i] for i in arr.tolist() if i != self.blank_index)
        if self.kind == PIECES:
            return " ".join(text.replace(WORD_START, " ").split())
        return text

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form: ``{"tokens": [...], "blank_index": int}``, plus ``"kind"`` for
        pieces (character vocabularies are written as before, so older readers read them)."""
        data: dict[str, Any] = {"tokens": list(self.tokens), "blank_index": self.blank_index}
        if self.kind != CHARACTERS:
            data["kind"] = self.kind
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Vocabulary:
        """Inverse of :meth:`to_dict`; validates the content.

        Raises:
            VocabularyError: if keys are missing or the content is invalid.
        """
        if not isinstance(data, Mapping):
            raise VocabularyError(f"vocabulary must be a JSON object, got {type(data).__name__}")
        missing = [k for k in ("tokens", "blank_index") if k not in data]
        if missing:
            raise VocabularyError(f"vocabulary is missing {', '.join(missing)}; "
                                  "re-export the model")
        tokens = data["tokens"]
        if not isinstance(tokens, (list, tuple)):
            raise VocabularyError(f"vocabulary tokens must be a list of strings, "
                                  f"got {type(tokens).__name__}")
        kind = data.get("kind", CHARACTERS)
        if not isinstance(kind, str):
            raise VocabularyError(f"vocabulary kind must be a string, got {kind!r}")
        return cls(tokens=tuple(tokens), blank_index=data["blank_index"], kind=kind)

    @classmethod
    def pieces(cls, pieces: Iterable[str]) -> Vocabulary:
        """A piece vocabulary: the blank at 0, then ``pieces`` (SentencePiece id ``i`` is
        class ``i + 1``)."""
        return cls(tokens=(BLANK, *pieces), blank_index=0, kind=PIECES)

    @classmethod
    def english(cls) -> Vocabulary:
        """Blank (0), space (1), ``a``..``z`` (2..27), apostrophe (28): 29 classes."""
        return cls(tokens=(BLANK, " ", *string.ascii_lowercase, "'"), blank_index=0)

    @classmethod
    def french(cls) -> Vocabulary:
        """English's 29 classes, then the accented letters of :data:`FRENCH_LETTERS`
        (29..44): 45 classes. Blank 0, space 1, apostrophe 28, as in :meth:`english`."""
        return cls(tokens=(*cls.english().tokens, *FRENCH_LETTERS), blank_index=0)


def _check_pieces(tokens: tuple[str, ...], blank: int) -> None:
    """Pieces hold no whitespace, and :data:`WORD_START` only as their first character."""
    bad = [t for i, t in enumerate(tokens) if i != blank and (
        any(c.isspace() for c in t) or WORD_START in t[1:])]
    if bad:
        raise VocabularyError(
            f"piece vocabulary has pieces with whitespace or a word-start marker "
            f"({WORD_START!r}) after their first character: {', '.join(map(repr, bad[:5]))}; "
            "train the SentencePiece model with edgeasr (whitespace split, marker as prefix)")
