"""Word and character error rates (jiwer), over a whole set of utterances."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import jiwer


@dataclass(frozen=True)
class ErrorRates:
    wer: float
    cer: float
    words: int  # reference words
    utterances: int
    exact: int  # utterances transcribed exactly


def error_rates(references: Sequence[str], hypotheses: Sequence[str]) -> ErrorRates:
    """Corpus-level WER/CER: total edits over total reference words/characters."""
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references but {len(hypotheses)} hypotheses")
    if not references:
        raise ValueError("no utterances to score")
    # jiwer rejects empty reference strings; score those utterances by hand.
    pairs = [(r, h) for r, h in zip(references, hypotheses) if r.strip()]
    empty_ref_words = sum(len(h.split()) for r, h in zip(references, hypotheses) if not r.strip())
    empty_ref_chars = sum(len(h) for r, h in zip(references, hypotheses) if not r.strip())
    words = sum(len(r.split()) for r, _ in pairs)
    chars = sum(len(r) for r, _ in pairs)
    word_edits = char_edits = 0
    if pairs:
        refs, hyps = [r for r, _ in pairs], [h for _, h in pairs]
        w = jiwer.process_words(refs, hyps)
        c = jiwer.process_characters(refs, hyps)
        word_edits = w.substitutions + w.deletions + w.insertions
        char_edits = c.substitutions + c.deletions + c.insertions
    word_edits += empty_ref_words
    char_edits += empty_ref_chars
    exact = sum(r.split() == h.split() for r, h in zip(references, hypotheses))
    return ErrorRates(
        wer=word_edits / max(words, 1),
        cer=char_edits / max(chars, 1),
        words=words,
        utterances=len(references),
        exact=exact,
    )


def utterance_rates(reference: str, hypothesis: str) -> tuple[float, float]:
    """(WER, CER) of one utterance."""
    rates = error_rates([reference], [hypothesis])
    return rates.wer, rates.cer
