"""CTC forced alignment (edgeasr_device.decoding.align) on synthetic posteriors with known paths."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from edgeasr_device.decoding.align import viterbi_align, word_times

BLANK = 0
V = 6


def peaked(path: list[int], peak: float = 0.9) -> np.ndarray:
    """(T, V) log-probs with ``peak`` on ``path[t]`` and the rest spread evenly."""
    probs = np.full((len(path), V), (1.0 - peak) / (V - 1))
    probs[np.arange(len(path)), path] = peak
    return np.log(probs)


def collapse(path: np.ndarray) -> list[int]:
    return [int(k) for k, _ in itertools.groupby(path.tolist()) if k != BLANK]


def test_known_path_is_recovered_exactly():
    # labels 2 3 2 4 at chosen frames; label 4 held for three frames; blanks between
    path = [0, 0, 2, 2, 0, 3, 0, 0, 0, 2, 0, 4, 4, 4, 0, 0]
    result = viterbi_align(peaked(path), [2, 3, 2, 4], BLANK)
    assert result.path.tolist() == path
    assert [(t.label, t.start, t.end) for t in result.tokens] == [
        (2, 2, 4), (3, 5, 6), (2, 9, 10), (4, 11, 14)]
    lp = peaked(path)
    assert result.log_prob == pytest.approx(float(lp[np.arange(len(path)), path].sum()))


def test_known_path_without_blanks_between_different_labels():
    path = [2, 3, 3, 4, 5]
    result = viterbi_align(peaked(path), [2, 3, 4, 5], BLANK)
    assert result.path.tolist() == path


def test_repeated_labels_get_a_blank_between():
    # The posteriors want "2 2" on two adjacent frames, but CTC needs a blank between.
    result = viterbi_align(peaked([0, 2, 2, 0, 0]), [2, 2], BLANK)
    assert collapse(result.path) == [2, 2]
    first, second = result.tokens
    assert first.end < second.start
    assert (result.path[first.end:second.start] == BLANK).all()
    # exactly enough frames: label, blank, label
    assert viterbi_align(peaked([2, 2, 2]), [2, 2], BLANK).path.tolist() == [2, 0, 2]


@pytest.mark.parametrize("labels,frames", [([2, 2], 2), ([2, 3, 4, 5, 2], 4), ([3, 3, 3], 4)])
def test_too_few_frames_is_infeasible(labels, frames):
    with pytest.raises(ValueError, match="frames"):
        viterbi_align(peaked([0] * frames), labels, BLANK)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="blank"):
        viterbi_align(peaked([0, 2, 0]), [2, BLANK], BLANK)
    with pytest.raises(ValueError, match="class ids"):
        viterbi_align(peaked([0, 2, 0]), [V], BLANK)
    with pytest.raises(ValueError, match="shape"):
        viterbi_align(np.zeros((0, V)), [2], BLANK)
    with pytest.raises(ValueError, match="NaN"):
        viterbi_align(np.full((3, V), np.nan), [2], BLANK)
    with pytest.raises(ValueError, match="cut into parts"):
        viterbi_align(peaked([0] * 50), [2, 3], BLANK, max_cells=100)


def test_empty_transcript_is_all_blank():
    result = viterbi_align(peaked([0, 2, 0]), [], BLANK)
    assert result.path.tolist() == [0, 0, 0] and result.tokens == ()


def _best_score_by_enumeration(lp: np.ndarray, labels: list[int]) -> float:
    """Max over every frame-level path that collapses to ``labels`` (brute force)."""
    best = -np.inf
    for path in itertools.product(range(V), repeat=lp.shape[0]):
        if collapse(np.array(path)) == labels:
            best = max(best, float(lp[np.arange(lp.shape[0]), path].sum()))
    return best


def test_matches_brute_force_on_random_posteriors():
    rng = np.random.default_rng(0)
    for labels in ([2, 3], [4, 4], [2, 5, 2]):
        logits = rng.normal(size=(6, V))
        lp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        result = viterbi_align(lp, labels, BLANK)
        assert collapse(result.path) == labels
        assert result.log_prob == pytest.approx(_best_score_by_enumeration(lp, labels))


def test_word_times_from_token_spans():
    # "ab c" with the space (class 1) between: words are tokens [0, 2) and [3, 4)
    path = [0, 2, 3, 0, 1, 1, 0, 4, 4, 0]
    result = viterbi_align(peaked(path), [2, 3, 1, 4], BLANK)
    words = word_times(result, [(0, 2), (3, 4)], frame_duration=0.02)
    assert [(w.start, w.end) for w in words] == [pytest.approx((0.02, 0.06)),
                                                 pytest.approx((0.14, 0.18))]
