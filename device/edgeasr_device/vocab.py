"""Character vocabulary of a CTC model: class index <-> token string.

``tokens[i]`` is the string for output class ``i``; ``tokens[blank_index]``
is the CTC blank ``"<blank>"``. Apart from the blank every token is normally a
single character, and :meth:`Vocabulary.encode` maps text one character per
token.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import numpy as np

from .errors import VocabularyError

__all__ = ["BLANK", "FRENCH_LETTERS", "Vocabulary", "normalize_text"]

BLANK = "<blank>"
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
    """

    tokens: tuple[str, ...]
    blank_index: int
    _ids: Mapping[str, int] = field(init=False, repr=False, compare=False)
    _lowercase: bool = field(init=False, repr=False, compare=False)

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
        object.__setattr__(self, "tokens", tokens)
        object.__setattr__(self, "blank_index", int(blank))
        object.__setattr__(self, "_ids", {t: i for i, t in enumerate(tokens) if i != blank})
        object.__setattr__(self, "_lowercase", not any(t != t.lower() for t in tokens
                                                       if t != BLANK))

    @property
    def size(self) -> int:
        """Number of classes ``V`` (including the blank)."""
        return len(self.tokens)

    @property
    def space_index(self) -> int | None:
        """Index of the word separator ``" "``, or None if there is none."""
        return self._ids.get(" ")

    def encode(self, text: str) -> list[int]:
        """Map text to class ids, one per character, after :func:`normalize_text`.

        Text is lower-cased unless the vocabulary has upper-case tokens.

        Raises:
            VocabularyError: listing every character that has no token.
        """
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

        No CTC collapsing is done here: see :mod:`edgeasr_device.decoding`.
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
        return "".join(tokens[i] for i in arr.tolist() if i != self.blank_index)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form: ``{"tokens": [...], "blank_index": int}``."""
        return {"tokens": list(self.tokens), "blank_index": self.blank_index}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Vocabulary":
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
        return cls(tokens=tuple(tokens), blank_index=data["blank_index"])

    @classmethod
    def english(cls) -> "Vocabulary":
        """Blank (0), space (1), ``a``..``z`` (2..27), apostrophe (28): 29 classes."""
        return cls(tokens=(BLANK, " ", *string.ascii_lowercase, "'"), blank_index=0)

    @classmethod
    def french(cls) -> "Vocabulary":
        """English's 29 classes, then the accented letters of :data:`FRENCH_LETTERS`
        (29..44): 45 classes. Blank 0, space 1, apostrophe 28, as in :meth:`english`."""
        return cls(tokens=(*cls.english().tokens, *FRENCH_LETTERS), blank_index=0)
