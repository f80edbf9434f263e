"""Sentences from a user's text file, and the corpus's sentence pool that mixes them in.

A text file holds one sentence per line (e.g. LJ Speech's transcripts). Each line is
normalised with :func:`edgeasr.text.normalize.normalize_english`; lines that end up empty or
that keep characters outside :data:`~edgeasr.synth.grammar.ALPHABET` (other scripts,
symbols the normaliser does not spell out) are skipped and counted, as are repeats.
:func:`sentence_pool` draws the corpus's sentences from such a file and from the generated
ones of :mod:`edgeasr.synth.grammar`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
from dataclasses import dataclass
from pathlib import Path

from edgeasr.errors import DataError
from edgeasr.synth.grammar import ALPHABET, mixed_sentences

__all__ = ["TextFileSentences", "file_sha256", "read_text_file", "sentence_pool"]


@dataclass(frozen=True)
class TextFileSentences:
    """The usable sentences of a text file, and how many lines were skipped and why."""

    path: str
    sha256: str
    sentences: tuple[str, ...]  # normalised, distinct, in file order
    lines: int
    skipped_empty: int  # empty once normalised (blank lines included)
    skipped_characters: int  # characters outside ALPHABET remained after normalising
    duplicates: int  # same normalised sentence as an earlier line

    def summary(self) -> dict:
        """What ``corpus.json`` records: everything but the sentences, plus their count."""
        info = dataclasses.asdict(self)
        info["usable"] = len(info.pop("sentences"))
        return info


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_text_file(path: str | Path) -> TextFileSentences:
    """Read and normalise a UTF-8 file of one sentence per line (see the module docstring).

    Raises:
        FileNotFoundError: no such file.
        DataError: the file is not UTF-8 text.
    """
    from edgeasr.text.normalize import normalize_english

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"text_file not found: {path}")
    raw = path.read_bytes()
    allowed = frozenset(ALPHABET)
    sentences: dict[str, None] = {}  # insertion-ordered set
    empty = bad = duplicates = 0
    try:
        lines = raw.decode("utf-8").splitlines()
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise DataError(f"text_file {path}:{line}: not UTF-8 text; re-save it as UTF-8 "
                        "(e.g. `iconv -f latin1 -t utf-8`)") from None
    for line in lines:
        text = normalize_english(line)
        if not text:
            empty += 1
        elif not set(text) <= allowed:
            bad += 1
        elif text in sentences:
            duplicates += 1
        else:
            sentences[text] = None
    return TextFileSentences(str(path), hashlib.sha256(raw).hexdigest(), tuple(sentences),
                             len(lines), empty, bad, duplicates)


def sentence_pool(source: TextFileSentences, n: int, fraction: float, seed: int = 0,
                  digit_fraction: float = 0.3) -> list[str]:
    """``n`` distinct sentences in a seeded order: ``round(n * fraction)`` drawn from
    ``source``, the rest from :func:`~edgeasr.synth.grammar.mixed_sentences`.

    Raises:
        DataError: ``source`` has too few usable sentences.
    """
    n_file = round(n * fraction)
    if n_file > len(source.sentences):
        raise DataError(
            f"{source.path} has {len(source.sentences)} usable distinct sentences; the corpus "
            f"needs {n_file} from it (text_fraction {fraction} of {n})"
        )
    rng = random.Random(f"synthetic-text:{seed}")
    from_file = rng.sample(source.sentences, n_file)
    chosen = set(from_file)
    generated = mixed_sentences(n, seed=seed, digit_fraction=digit_fraction)
    pool = from_file + [s for s in generated if s not in chosen][: n - n_file]
    rng.shuffle(pool)
    return pool
