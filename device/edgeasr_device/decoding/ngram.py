"""A word n-gram language model with back-off, held in flat numpy arrays.

This is the in-memory form of an ARPA file (:mod:`.arpa`) or of its compiled form
(:mod:`.lm_file`). Words get ids in sorted order of their spelling, so that the words
starting with a given prefix are one id range (used for look-ahead scores of partial words).

Order ``n`` (1-based) is stored as three arrays of the same length ``N_n``:

* ``keys[n-1]``: int64, sorted; the n-gram ``(c_1 .. c_{n-1}, w)`` has key
  ``context_id * W + w`` where ``context_id`` is the index of ``(c_1 .. c_{n-1})`` among the
  (n-1)-grams and ``W`` the number of words. Unigrams have no key array: their index is the
  word id.
* ``log_prob[n-1]``: float32, natural log ``ln P(w | c)``; NaN marks an entry that exists only
  as the context of longer n-grams (the file had no probability for it).
* ``log_backoff[n-1]``: float32, natural log of the back-off weight of the n-gram as a context.

Back-off: ``ln P(w | c_1..c_k) = log_prob(c_1..c_k w)`` if that n-gram exists, else
``log_backoff(c_1..c_k) + ln P(w | c_2..c_k)`` (a missing context backs off with weight 1).
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import LanguageModelError

__all__ = ["BOS", "EOS", "LN10", "UNK", "NgramEntries", "NgramModel"]

BOS, EOS, UNK = "<s>", "</s>", "<unk>"
#: Natural log of 10: ARPA files hold log10 values; everything here is natural log.
LN10 = math.log(10.0)
_NAN = float("nan")


@dataclass(frozen=True)
class NgramEntries:
    """The n-grams of one order as a file lists them (log10 values, any order of rows).

    Attributes:
        order: n.
        grams: ``N`` tuples of ``n`` words.
        log10_prob: ``(N,)`` float; NaN for a context-only entry.
        log10_backoff: ``(N,)`` float; 0.0 where the file gives none.
    """

    order: int
    grams: Sequence[tuple[str, ...]]
    log10_prob: np.ndarray
    log10_backoff: np.ndarray


class NgramModel:
    """Back-off n-gram model over word ids; see the module docstring for the layout.

    Build one with :meth:`from_entries` (from parsed text) or load a compiled file with
    :func:`edgeasr_device.decoding.lm_file.load_lm`.
    """

    def __init__(self, words: Sequence[str], keys: Sequence[np.ndarray | None],
                 log_prob: Sequence[np.ndarray], log_backoff: Sequence[np.ndarray],
                 source: str = "<memory>"):
        self.words: list[str] = list(words)
        self.keys = list(keys)
        self.log_prob = list(log_prob)
        self.log_backoff = list(log_backoff)
        self.source = source
        self.order = len(self.log_prob)
        self.num_words = len(self.words)
        self._ids: dict[str, int] | None = None
        self.bos = self.word_id(BOS)
        self.eos = self.word_id(EOS)
        self.unk = self.word_id(UNK)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_entries(cls, entries: Sequence[NgramEntries], source: str = "<memory>") -> NgramModel:
        """Sort and index parsed n-grams (orders 1..N, in that order).

        Every word of a longer n-gram must be a unigram. Contexts that the entries lack
        (a pruned ``a b`` under a kept ``a b c``) are added as context-only entries.

        Raises:
            LanguageModelError: an unknown word, a duplicated n-gram, or no unigrams.
        """
        if not entries or entries[0].order != 1 or not len(entries[0].grams):
            raise LanguageModelError(f"{source}: a language model needs 1-grams")
        words = sorted({g[0] for g in entries[0].grams})
        if len(words) != len(entries[0].grams):
            raise LanguageModelError(f"{source}: a 1-gram is listed twice")
        ids = {w: i for i, w in enumerate(words)}
        rows: list[np.ndarray] = []
        probs: list[np.ndarray] = []
        backs: list[np.ndarray] = []
        for entry in entries:
            try:
                matrix = np.array([[ids[w] for w in g] for g in entry.grams], dtype=np.int64)
            except KeyError as err:
                raise LanguageModelError(f"{source}: the word {err.args[0]!r} of a "
                                         f"{entry.order}-gram is not a 1-gram") from None
            rows.append(matrix.reshape(-1, entry.order))
            probs.append(np.asarray(entry.log10_prob, dtype=np.float64) * LN10)
            backs.append(np.asarray(entry.log10_backoff, dtype=np.float64) * LN10)
        _add_missing_contexts(rows, probs, backs)
        num_words = len(words)
        order1 = np.argsort(rows[0][:, 0])
        keys: list[np.ndarray | None] = [None]
        log_prob = [probs[0][order1].astype(np.float32)]
        log_backoff = [backs[0][order1].astype(np.float32)]
        for n in range(2, len(rows) + 1):
            context = _context_ids(rows[n - 1][:, :-1], keys, num_words)
            if (context < 0).any():  # cannot happen after _add_missing_contexts
                raise LanguageModelError(f"{source}: an {n}-gram has no context")
            key = context * num_words + rows[n - 1][:, -1]
            order = np.argsort(key, kind="stable")
            key = key[order]
            dupes = np.flatnonzero(key[1:] == key[:-1])
            if dupes.size:
                gram = " ".join(words[i] for i in rows[n - 1][order[dupes[0]]])
                raise LanguageModelError(f"{source}: the {n}-gram {gram!r} is listed twice")
            keys.append(key)
            log_prob.append(probs[n - 1][order].astype(np.float32))
            log_backoff.append(backs[n - 1][order].astype(np.float32))
        return cls(words, keys, log_prob, log_backoff, source=source)

    # ------------------------------------------------------------------ lookups
    @property
    def counts(self) -> tuple[int, ...]:
        """Number of entries per order (1..N)."""
        return tuple(int(p.shape[0]) for p in self.log_prob)

    @property
    def nbytes(self) -> int:
        """Bytes held by the arrays (not counting the word strings)."""
        return sum(int(a.nbytes) for a in (*self.log_prob, *self.log_backoff, *self.keys)
                   if a is not None)

    def word_id(self, word: str) -> int:
        """Id of ``word``, or -1 when the model does not have it."""
        if self._ids is None:
            self._ids = {w: i for i, w in enumerate(self.words)}
        return self._ids.get(word, -1)

    def find(self, order: int, context: int, word: int) -> int:
        """Index of the ``order``-gram (context n-gram id, word id) among its order, or -1."""
        if order == 1:
            return word
        keys = self.keys[order - 1]
        key = context * self.num_words + word
        i = int(keys.searchsorted(key))
        return i if i < keys.shape[0] and int(keys[i]) == key else -1

    def successors(self, order: int, context: int, first: int, stop: int) -> slice:
        """Rows of order ``order`` (>= 2) with this context and word ids in ``[first, stop)``."""
        keys = self.keys[order - 1]
        base = context * self.num_words
        lo, hi = keys.searchsorted((base + first, base + stop))
        return slice(int(lo), int(hi))

    def prefix_range(self, prefix: str) -> tuple[int, int]:
        """Ids ``[first, stop)`` of the words that start with ``prefix``."""
        return (bisect_left(self.words, prefix),
                bisect_left(self.words, prefix + "\U0010ffff"))

    def log_prob_of(self, history: Sequence[str], word: str) -> float:
        """``ln P(word | history)`` by back-off (for tests and tools; the decoders use
        :class:`~edgeasr_device.decoding.lm_scorer.NgramScorer`). Unknown words score as
        ``<unk>``, or ``-inf`` when the model has none."""
        wid = self.word_id(word)
        wid = self.unk if wid < 0 else wid
        if wid < 0:
            return -math.inf
        context = [self.word_id(w) for w in history][-(self.order - 1):] if self.order > 1 else []
        total = 0.0
        for start in range(len(context)):
            ctx = context[start:]
            if min(ctx) < 0:
                continue
            ctx_id = self.gram_id(ctx)
            if ctx_id < 0:
                continue
            i = self.find(len(ctx) + 1, ctx_id, wid)
            if i >= 0 and not math.isnan(float(self.log_prob[len(ctx)][i])):
                return total + float(self.log_prob[len(ctx)][i])
            total += float(self.log_backoff[len(ctx) - 1][ctx_id])
        return total + float(self.log_prob[0][wid])

    def gram_id(self, word_ids: Sequence[int]) -> int:
        """Index of the n-gram of these word ids among its order, or -1."""
        gid = int(word_ids[0])
        for n, w in enumerate(word_ids[1:], start=2):
            gid = self.find(n, gid, int(w))
            if gid < 0:
                return -1
        return gid

    def __repr__(self) -> str:
        return f"NgramModel({self.source!r}, order={self.order}, counts={self.counts})"


def _context_ids(prefixes: np.ndarray, keys: Sequence[np.ndarray | None],
                 num_words: int) -> np.ndarray:
    """Ids of the n-grams ``prefixes`` ``(N, k)`` among order k, or -1 where absent."""
    ids = prefixes[:, 0].copy()
    found = np.ones(ids.shape[0], dtype=bool)
    for j in range(1, prefixes.shape[1]):
        table = keys[j]
        key = ids * num_words + prefixes[:, j]
        pos = np.minimum(table.searchsorted(key), max(table.shape[0] - 1, 0))
        found &= table.shape[0] > 0
        if table.shape[0]:
            found &= table[pos] == key
        ids = np.where(found, pos, 0)
    return np.where(found, ids, -1)


def _add_missing_contexts(rows: list[np.ndarray], probs: list[np.ndarray],
                          backs: list[np.ndarray]) -> None:
    """Add context-only entries (NaN probability, back-off 1) for every prefix that an
    n-gram has but its lower order lacks, from the top order down."""
    for n in range(len(rows), 2, -1):
        needed = np.unique(rows[n - 1][:, :-1], axis=0)
        have = rows[n - 2]
        both = np.concatenate([have, needed])
        _, first = np.unique(both, axis=0, return_index=True)
        new = both[np.sort(first[first >= have.shape[0]])]
        if new.size:
            rows[n - 2] = np.concatenate([have, new])
            probs[n - 2] = np.concatenate([probs[n - 2], np.full(new.shape[0], _NAN)])
            backs[n - 2] = np.concatenate([backs[n - 2], np.zeros(new.shape[0])])
