"""ARPA back-off language-model files: read them into an :class:`NgramModel`, write them.

The format, as KenLM, SRILM and MITLM write it (plain text or gzip)::

    \\data\\
    ngram 1=3
    ngram 2=2

    \\1-grams:
    -0.60206  <s>   -0.30103
    ...
    \\2-grams:
    -0.30103  <s> a
    ...
    \\end\\

Every entry is ``log10_prob word_1 .. word_n [log10_backoff]`` (fields separated by tabs
or spaces); the highest order has no back-off. Text before ``\\data\\`` is ignored. Any
mistake (a count that does not match, a line that does not parse, orders out of sequence)
is a :class:`LanguageModelError` naming the file and the line.
"""

from __future__ import annotations

import gzip
import io
import itertools
import math
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from ..errors import LanguageModelError
from .ngram import NgramEntries, NgramModel

__all__ = ["read_arpa", "read_arpa_entries", "write_arpa"]

_COUNT = re.compile(r"^ngram\s+(\d+)\s*=\s*(\d+)$")
_SECTION = re.compile(r"^\\(\d+)-grams:$")
#: log10 probabilities a little above 0 (rounding in some tools) are read as 0.
_POSITIVE_SLACK = 1e-4


def read_arpa(path: str | os.PathLike) -> NgramModel:
    """Parse an ARPA file (``.gz`` too) into an indexed model.

    Raises:
        LanguageModelError: the file is missing or malformed (the message names the line).
    """
    return NgramModel.from_entries(read_arpa_entries(path), source=str(path))


def read_arpa_entries(path: str | os.PathLike) -> list[NgramEntries]:
    """The entries of an ARPA file, order by order (log10 values as written)."""
    source = str(path)
    try:
        with _open_text(Path(path)) as handle:
            return _parse(enumerate(handle, start=1), source)
    except OSError as err:
        raise LanguageModelError(f"cannot read language model {source}: "
                                 f"{err.strerror or err}") from err
    except UnicodeDecodeError as err:
        raise LanguageModelError(f"{source} is not UTF-8 text (byte {err.start}): an ARPA "
                                 "file is text; compiled models load with --lm too") from err


def _open_text(path: Path) -> io.TextIOBase:
    with open(path, "rb") as probe:
        magic = probe.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt", encoding="utf-8")  # type: ignore[return-value]
    return open(path, encoding="utf-8")


def _parse(lines: Iterator[tuple[int, str]], source: str) -> list[NgramEntries]:
    def fail(number: int | None, what: str) -> LanguageModelError:
        where = f"{source}, line {number}" if number is not None else source
        return LanguageModelError(f"{where}: {what}")

    number = 0
    for number, raw in lines:
        if raw.strip() == "\\data\\":
            break
    else:
        raise fail(None, "no \\data\\ header: this is not an ARPA language model")
    declared: dict[int, int] = {}
    pending: list[tuple[int, str]] = []
    for number, raw in lines:
        line = raw.strip()
        if not line:
            if declared:
                break
            continue
        match = _COUNT.match(line)
        if match is None:
            if _SECTION.match(line) and declared:
                pending.append((number, raw))
                break
            raise fail(number, f"expected 'ngram N=COUNT', got {line[:60]!r}")
        n, count = int(match.group(1)), int(match.group(2))
        if n != len(declared) + 1:
            raise fail(number, f"the counts must list orders 1, 2, ... in sequence; got order "
                               f"{n} after {len(declared)}")
        declared[n] = count
    if not declared:
        raise fail(number, "the \\data\\ section declares no n-gram counts")
    top = len(declared)
    entries: list[NgramEntries] = []
    unigrams: set[str] = set()
    order, grams, probs, backs, started = 0, [], [], [], number
    finished = False
    for number, raw in itertools.chain(pending, lines):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("\\"):
            if order:
                entries.append(_close(order, grams, probs, backs, declared, started, fail))
            if line == "\\end\\":
                finished = True
                break
            match = _SECTION.match(line)
            if match is None:
                raise fail(number, f"expected a section such as \\{order + 1}-grams:, "
                                   f"got {line[:60]!r}")
            n = int(match.group(1))
            if n != order + 1:
                raise fail(number, f"sections must come in order: expected \\{order + 1}-grams:"
                                   f" here, got \\{n}-grams:")
            if n > top:
                raise fail(number, f"\\{n}-grams: is not among the {top} orders the header "
                                   "declares")
            order, grams, probs, backs, started = n, [], [], [], number
            continue
        if not order:
            raise fail(number, f"expected \\1-grams:, got {line[:60]!r}")
        fields = line.split()
        if len(fields) not in (order + 1, order + 2):
            raise fail(number, f"a {order}-gram line has a log10 probability, {order} word(s) "
                               f"and an optional back-off; got {len(fields)} fields")
        try:
            prob = float(fields[0])
            back = float(fields[order + 1]) if len(fields) == order + 2 else 0.0
        except ValueError:
            raise fail(number, f"not a number in {line[:60]!r}") from None
        if not (math.isfinite(prob) and math.isfinite(back)) or prob > _POSITIVE_SLACK:
            raise fail(number, f"log10 probability {fields[0]} is not a finite number <= 0")
        gram = tuple(fields[1:order + 1])
        if order == 1:
            unigrams.add(gram[0])
        else:
            for word in gram:
                if word not in unigrams:
                    raise fail(number, f"the word {word!r} of this {order}-gram is not a 1-gram")
        grams.append(gram)
        probs.append(min(prob, 0.0))
        backs.append(back)
    if not finished:
        raise fail(number, "the file ends before \\end\\ (is it truncated?)")
    if len(entries) != top:
        raise fail(number, f"the header declares {top} orders but the file has "
                           f"{len(entries)} sections")
    return entries


def _close(order, grams, probs, backs, declared, started, fail) -> NgramEntries:
    if len(grams) != declared[order]:
        raise fail(started, f"the header declares {declared[order]} {order}-grams but this "
                            f"section has {len(grams)}")
    return NgramEntries(order, grams, np.asarray(probs, dtype=np.float64),
                        np.asarray(backs, dtype=np.float64))


def write_arpa(path: str | os.PathLike, entries: Sequence[NgramEntries]) -> None:
    """Write entries (orders 1..N, log10 values) as an ARPA file; ``.gz`` paths are gzipped.

    Rows are written sorted by their words; NaN probabilities as -99 (ARPA's "never").
    """
    path = Path(path)
    lines = _arpa_lines(entries)
    if path.suffix == ".gz":
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            handle.writelines(lines)
    else:
        with open(path, "w", encoding="utf-8") as handle:
            handle.writelines(lines)


def _arpa_lines(entries: Sequence[NgramEntries]) -> Iterable[str]:
    yield "\\data\\\n"
    for entry in entries:
        yield f"ngram {entry.order}={len(entry.grams)}\n"
    top = len(entries)
    for entry in entries:
        yield f"\n\\{entry.order}-grams:\n"
        order = sorted(range(len(entry.grams)), key=entry.grams.__getitem__)
        for i in order:
            prob = float(entry.log10_prob[i])
            prob = -99.0 if math.isnan(prob) else prob
            words = " ".join(entry.grams[i])
            if entry.order < top:
                yield f"{prob:.6f}\t{words}\t{float(entry.log10_backoff[i]):.6f}\n"
            else:
                yield f"{prob:.6f}\t{words}\n"
    yield "\n\\end\\\n"
