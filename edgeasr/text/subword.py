"""Subword output tokens: a SentencePiece model trained on the training transcripts.

A character model writes one class per letter; a piece model writes one class per
SentencePiece piece (``"▁the"``, ``"ing"``), so its label sequences are shorter and its
classifier larger. The CTC classes of a piece model are the blank at 0 and SentencePiece id
``i`` at class ``i + 1`` (``Vocabulary.pieces``), so the device needs only the piece list to
turn classes back into text; cutting text into pieces (labels for training, references for
the token error rate) needs the SentencePiece model, which lives here, on the training side:

- :func:`train_tokenizer`: normalised transcripts -> a :class:`Tokenizer` (unigram or BPE,
  deterministic: fixed seed, one thread, identity normalisation because edgeasr's language
  normaliser has already run, every character of the training text covered);
- :class:`Tokenizer`: the serialized model (saved as ``RUN/tokenizer.model``, embedded in
  exported files' metadata), its :class:`Vocabulary`, and text -> class ids;
- :func:`text_encoder`: what labels are made with, for either kind of vocabulary.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from edgeasr.errors import ConfigError, DataError
from edgeasr.files import atomic_write_bytes
from edgeasr_device.errors import VocabularyError
from edgeasr_device.vocab import PIECES, WORD_START, Vocabulary, normalize_text

__all__ = ["MODEL_TYPES", "TOKENIZER_FILE", "CharacterEncoder", "TextEncoder", "Tokenizer",
           "text_encoder", "train_tokenizer"]

#: The file a run keeps its SentencePiece model in.
TOKENIZER_FILE = "tokenizer.model"
MODEL_TYPES = ("unigram", "bpe")
_TOO_HIGH = re.compile(r"Vocabulary size too high \((\d+)\)\. Please set it to a value <= (\d+)")
_TOO_LOW = re.compile(r"Vocabulary size is smaller than required_chars\. (\d+) vs (\d+)")

#: What :meth:`TextEncoder.score_ids` gives a character that no token can write.
UNWRITABLE = -1


class TextEncoder(Protocol):
    """Text -> class ids (labels) of ``vocabulary``; ``key`` identifies the mapping beyond the
    vocabulary (shard caches are keyed by it). :class:`CharacterEncoder` and
    :class:`Tokenizer` are the two kinds."""

    vocabulary: Vocabulary
    key: str

    def __call__(self, text: str) -> list[int]: ...

    def score_ids(self, text: str) -> list[int]:
        """The ids for scoring (TER): as ``__call__``, but what the model cannot write is
        :data:`UNWRITABLE` instead of an error."""
        ...


@dataclass(frozen=True)
class CharacterEncoder:
    """One class per character: ``Vocabulary.encode``."""

    vocabulary: Vocabulary
    key: str = ""

    def __call__(self, text: str) -> list[int]:
        return self.vocabulary.encode(text)

    def score_ids(self, text: str) -> list[int]:
        """One id per character of the normalised text, spaces included."""
        vocab = self.vocabulary
        lowercase = all(t == t.lower() for t in vocab.tokens)
        ids = {t: i for i, t in enumerate(vocab.tokens) if i != vocab.blank_index}
        return [ids.get(c, UNWRITABLE) for c in normalize_text(text, lowercase=lowercase)]


class Tokenizer:
    """A serialized SentencePiece model and the piece vocabulary it defines.

    Args:
        model: the bytes of a ``.model`` file (a ``ModelProto``).
        source: names the model in errors (a path, or "the run's tokenizer").

    Attributes:
        model: the serialized model.
        vocabulary: blank at 0, then the pieces by id (``Vocabulary.pieces``).
        key: 16 hex digits of the model's SHA-256 (shard caches are keyed by it).

    Raises:
        DataError: the bytes are not a SentencePiece model, or its pieces do not make a
            piece vocabulary.
    """

    def __init__(self, model: bytes, source: str = "tokenizer"):
        import sentencepiece

        self.model = bytes(model)
        self.source = source
        try:
            self._sp = sentencepiece.SentencePieceProcessor(model_proto=self.model)
            self.vocabulary = Vocabulary.pieces(
                self._sp.id_to_piece(i) for i in range(self._sp.get_piece_size()))
        except (RuntimeError, OSError, VocabularyError) as err:
            raise DataError(f"{source} is not a usable SentencePiece model ({err}); train "
                            "again with `edgeasr train --tokens sentencepiece:SIZE`") from err
        self.key = hashlib.sha256(self.model).hexdigest()[:16]
        self._unk = self._sp.unk_id()
        self._chars = {c for p in self.vocabulary.tokens[1:] for c in p.lstrip(WORD_START)}

    def __call__(self, text: str) -> list[int]:
        """Text (normalised as ``Vocabulary.encode`` does) -> class ids ``(L,)``: piece ids + 1.

        Raises:
            VocabularyError: listing the characters no piece has (they would be ``<unk>``).
        """
        norm = normalize_text(text)
        ids = self._sp.encode(norm)
        if self._unk in ids:
            missing = list(dict.fromkeys(c for c in norm if c != " " and c not in self._chars))
            shown = norm if len(norm) <= 80 else norm[:77] + "..."
            raise VocabularyError(
                f"characters not in the tokenizer's pieces: {', '.join(map(repr, missing))} in "
                f"\"{shown}\"; remove or transliterate them, or train the tokenizer on text "
                "that has them")
        return [i + 1 for i in ids]

    encode = __call__

    def score_ids(self, text: str) -> list[int]:
        """Piece ids + 1; :data:`UNWRITABLE` where SentencePiece says ``<unk>``."""
        return [i + 1 if i != self._unk else UNWRITABLE
                for i in self._sp.encode(normalize_text(text))]

    def pieces(self, text: str) -> list[str]:
        """The pieces ``text`` is cut into (for reading; ``__call__`` gives the ids)."""
        return [self.vocabulary.tokens[i] for i in self(text)]

    def save(self, path: str | os.PathLike) -> Path:
        """Write the model file atomically."""
        return atomic_write_bytes(path, self.model)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Tokenizer:
        """Read a model file (``RUN/tokenizer.model``).

        Raises:
            DataError: naming the file when it is missing or not a SentencePiece model.
        """
        try:
            data = Path(path).read_bytes()
        except OSError as err:
            raise DataError(f"{path}: cannot read the tokenizer ({err.strerror or err}); a "
                            "piece model's run keeps it beside run.json") from err
        return cls(data, str(path))

    def to_metadata(self) -> dict[str, Any]:
        """The ``tokenizer`` entry of exported metadata: kind and base64 of the model."""
        return {"kind": "sentencepiece", "model": base64.b64encode(self.model).decode("ascii")}

    @classmethod
    def from_metadata(cls, entry: Any, source: str) -> Tokenizer:
        """Inverse of :meth:`to_metadata`; ``source`` names the file in errors."""
        if not isinstance(entry, dict) or entry.get("kind") != "sentencepiece" \
                or not isinstance(entry.get("model"), str):
            raise DataError(f"{source} has no usable SentencePiece model in its metadata "
                            f"(tokenizer = {str(entry)[:60]!r}); re-export it")
        try:
            model = base64.b64decode(entry["model"], validate=True)
        except ValueError as err:
            raise DataError(f"{source}: its tokenizer is not base64 ({err}); re-export it") \
                from err
        return cls(model, f"{source} (tokenizer)")

    def check_matches(self, vocabulary: Vocabulary, where: str) -> None:
        """Raise DataError unless this tokenizer's pieces are ``vocabulary``'s tokens."""
        if vocabulary != self.vocabulary:
            raise DataError(f"{self.source} does not match the vocabulary of {where} "
                            f"({self.vocabulary.size} vs {vocabulary.size} classes, or other "
                            "pieces); it was replaced: restore the run's own tokenizer.model")


def train_tokenizer(texts: Iterable[str], size: int, model_type: str = "unigram",
                    seed: int = 0, where: str = "train.data.tokens") -> Tokenizer:
    """Train a SentencePiece model on ``texts`` (already normalised transcripts).

    Args:
        size: pieces, ``<unk>`` included (the CTC model has one more class, the blank).
        model_type: ``unigram`` or ``bpe``.
        seed: SentencePiece's random seed; with one thread the model bytes are a function of
            the texts and these arguments.
        where: names the options in errors.

    Raises:
        ConfigError: ``size`` is smaller than the characters of the text need or larger than
            the text allows (the message gives the bound), or the model type is unknown.
        DataError: no text to train on.
    """
    import sentencepiece

    if model_type not in MODEL_TYPES:
        raise ConfigError(f"{where}.model_type {model_type!r}: choose one of {MODEL_TYPES}")
    lines = [line for line in (normalize_text(t) for t in texts) if line]
    if not lines:
        raise DataError("no transcripts to train the tokenizer on (every one is empty after "
                        "normalisation)")
    model = io.BytesIO()
    sentencepiece.set_random_generator_seed(seed)
    try:
        sentencepiece.SentencePieceTrainer.train(
            sentence_iterator=iter(lines), model_writer=model, vocab_size=size,
            model_type=model_type, character_coverage=1.0, normalization_rule_name="identity",
            unk_id=0, bos_id=-1, eos_id=-1, pad_id=-1, num_threads=1,
            max_sentence_length=1 << 16, minloglevel=2)
    except RuntimeError as err:
        raise _size_error(err, size, where) from err
    return Tokenizer(model.getvalue(), "the trained tokenizer")


def _size_error(err: RuntimeError, size: int, where: str) -> Exception:
    text = str(err)
    high, low = _TOO_HIGH.search(text), _TOO_LOW.search(text)
    if high:
        return ConfigError(f"{where}.size {size} is more pieces than the training transcripts "
                           f"allow ({high.group(2)} at most); lower it "
                           f"(--tokens sentencepiece:{high.group(2)} or less)")
    if low:
        return ConfigError(f"{where}.size {size} is fewer pieces than the training transcripts "
                           f"have characters (+ <unk>): raise it to at least {low.group(2)}")
    return ConfigError(f"{where}: SentencePiece could not train a {size}-piece model: {text}")


def text_encoder(vocabulary: Vocabulary, tokenizer: Tokenizer | None = None
                 ) -> CharacterEncoder | Tokenizer:
    """The labels of ``vocabulary``: its characters, or (pieces) ``tokenizer``'s pieces.

    Raises:
        DataError: a piece vocabulary without its tokenizer, or one that does not match.
    """
    if vocabulary.kind != PIECES:
        return CharacterEncoder(vocabulary)
    if tokenizer is None:
        raise DataError("a piece vocabulary needs its SentencePiece model to make labels "
                        f"(the run's {TOKENIZER_FILE})")
    tokenizer.check_matches(vocabulary, "the model")
    return tokenizer
