"""Word, character and token error rates (jiwer), over a whole set of utterances.

TER, the token error rate, is the edit distance (substitutions + deletions + insertions)
between the reference's and the hypothesis' sequences of the model's own output tokens,
summed over the utterances and divided by the reference tokens: the rate at which the model
gets its own classes wrong. Both texts are tokenised the same way, the model's way: one token
per character (spaces included) for a character model, where TER equals CER over the
characters the model can write; the run's SentencePiece pieces for a piece model (the
hypothesis text is cut into pieces again, so two spellings of the same text are not errors).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import jiwer


@dataclass(frozen=True)
class ErrorRates:
    wer: float
    cer: float
    words: int  # reference words
    utterances: int
    exact: int  # utterances transcribed exactly
    ter: float | None = None  # token error rate (see the module docstring); None: not measured
    tokens: int | None = None  # reference tokens


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


def token_edits(references: Sequence[Sequence[int]],
                hypotheses: Sequence[Sequence[int]]) -> tuple[int, int]:
    """(edits, reference tokens) between token-id sequences, summed over the utterances.

    The ids are compared as words by jiwer; an empty reference makes every hypothesis token
    an insertion.
    """
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references but {len(hypotheses)} hypotheses")
    pairs = [(r, h) for r, h in zip(references, hypotheses) if len(r)]
    edits = sum(len(h) for r, h in zip(references, hypotheses) if not len(r))
    if pairs:
        out = jiwer.process_words([" ".join(map(str, r)) for r, _ in pairs],
                                  [" ".join(map(str, h)) for _, h in pairs])
        edits += out.substitutions + out.deletions + out.insertions
    return edits, sum(len(r) for r, _ in pairs)


def with_token_rate(rates: ErrorRates, references: Sequence[Sequence[int]],
                    hypotheses: Sequence[Sequence[int]]) -> ErrorRates:
    """``rates`` with ``ter`` and ``tokens`` filled in from token-id sequences."""
    edits, tokens = token_edits(references, hypotheses)
    return replace(rates, ter=edits / max(tokens, 1), tokens=tokens)


def utterance_rates(reference: str, hypothesis: str) -> tuple[float, float]:
    """(WER, CER) of one utterance."""
    rates = error_rates([reference], [hypothesis])
    return rates.wer, rates.cer
