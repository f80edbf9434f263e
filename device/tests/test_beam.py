"""CTC prefix beam search against brute-force enumeration of every frame path."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from edgeasr_device.decoding import DecodingOptions, make_decoder
from edgeasr_device.decoding.arpa import read_arpa
from edgeasr_device.decoding.beam import PrefixBeamSearch, prefix_beam_search
from edgeasr_device.decoding.hotwords import HotwordBooster, parse_hotword
from edgeasr_device.decoding.lm_scorer import NgramScorer
from edgeasr_device.decoding.scoring import PrefixScorer
from edgeasr_device.vocab import Vocabulary

VOCAB = Vocabulary(tokens=("<blank>", " ", "a", "b"), blank_index=0)
ARPA = """\\data\\
ngram 1=6
ngram 2=5

\\1-grams:
-0.5\t</s>
-99\t<s>\t-0.3
-0.7\ta\t-0.2
-0.9\tb\t-0.25
-1.1\tab\t-0.1
-1.6\t<unk>

\\2-grams:
-0.2\t<s> a
-0.4\ta b
-0.3\tb a
-0.35\tab </s>
-0.6\t<s> ab

\\end\\
"""


def random_log_probs(rng: np.random.Generator, t: int, v: int, peak: float = 2.0) -> np.ndarray:
    logits = rng.normal(size=(t, v)) * peak
    return logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))


def brute_force(lp: np.ndarray, blank: int, scorer: PrefixScorer | None):
    """Every labelling with ln P_ctc (sum over its frame paths) plus the scorer's final
    score, best first."""
    acoustic: dict[tuple[int, ...], float] = {}
    for path in itertools.product(range(lp.shape[1]), repeat=lp.shape[0]):
        score = float(sum(lp[t, c] for t, c in enumerate(path)))
        tokens = tuple(c for i, c in enumerate(path)
                       if c != blank and (i == 0 or path[i - 1] != c))
        acoustic[tokens] = np.logaddexp(acoustic.get(tokens, -np.inf), score)
    totals = {}
    for tokens, value in acoustic.items():
        extra = 0.0
        if scorer is not None:
            state, _ = scorer.initial()
            for token in tokens:
                state, _ = scorer.extend(state, token)
            extra = scorer.final(state)
        totals[tokens] = (value + extra, value)
    return sorted(totals.items(), key=lambda kv: -kv[1][0])


@pytest.fixture(scope="module")
def lm_scorer(tmp_path_factory):
    path = tmp_path_factory.mktemp("lm") / "tiny.arpa"
    path.write_text(ARPA)
    return NgramScorer(read_arpa(path), VOCAB)


def scorers(lm_scorer):
    hot = HotwordBooster([parse_hotword("ab:2"), parse_hotword("b a:1.5")], VOCAB)
    return {
        "none": None,
        "bonus": PrefixScorer(VOCAB, word_bonus=0.7),
        "lm": PrefixScorer(VOCAB, lm_scorer, lm_weight=0.8, word_bonus=0.4),
        "hotwords": PrefixScorer(VOCAB, hotwords=hot),
        "lm+hotwords": PrefixScorer(VOCAB, lm_scorer, lm_weight=1.0, word_bonus=-0.3,
                                    hotwords=hot),
    }


@pytest.mark.parametrize("kind", ["none", "bonus", "lm", "hotwords", "lm+hotwords"])
@pytest.mark.parametrize("t_len, seed", [(1, 0), (3, 1), (5, 2), (6, 3), (6, 4)])
def test_an_exhaustive_beam_equals_brute_force(lm_scorer, kind, t_len, seed):
    scorer = scorers(lm_scorer)[kind]
    lp = random_log_probs(np.random.default_rng(seed), t_len, VOCAB.size)
    expected = brute_force(lp, 0, scorer)
    got = prefix_beam_search(lp, 0, beam_width=5000, scorer=scorer, nbest=0)
    assert len(got) == len(expected)  # every labelling survives
    for hyp, (tokens, (total, acoustic)) in zip(got[:20], expected[:20]):
        assert hyp.tokens == tokens
        assert hyp.score == pytest.approx(total, abs=1e-9)
        assert hyp.acoustic == pytest.approx(acoustic, abs=1e-9)


@pytest.mark.parametrize("kind", ["none", "lm", "lm+hotwords"])
def test_a_narrow_beam_scores_what_it_keeps_exactly(lm_scorer, kind):
    scorer = scorers(lm_scorer)[kind]
    lp = random_log_probs(np.random.default_rng(7), 6, VOCAB.size, peak=3.0)
    exact = dict(brute_force(lp, 0, scorer))
    hyps = prefix_beam_search(lp, 0, beam_width=4, scorer=scorer, nbest=4)
    assert 1 <= len(hyps) <= 4
    assert [h.score for h in hyps] == sorted((h.score for h in hyps), reverse=True)
    for hyp in hyps:  # pruning loses paths, never invents probability
        assert hyp.score <= exact[hyp.tokens][0] + 1e-9
    assert hyps[0].tokens == max(exact, key=lambda k: exact[k][0])


def _splits(rng: np.random.Generator, t_len: int) -> list[int]:
    """Random cut points of ``t_len`` frames (empty pieces and single frames included)."""
    cuts = sorted(rng.integers(0, t_len + 1, size=rng.integers(1, 6)).tolist())
    return [0, *cuts, t_len]


@pytest.mark.parametrize("kind", ["none", "lm", "lm+hotwords"])
@pytest.mark.parametrize("seed", range(4))
def test_frames_fed_in_pieces_give_the_whole_utterances_beams(lm_scorer, kind, seed):
    """Peaky frames with long blank runs (carried in one step, split across pieces too) and
    busy ones; a narrow beam, token pruning and a threshold, as the decoder runs."""
    rng = np.random.default_rng(seed)
    lp = random_log_probs(rng, 120, VOCAB.size, peak=2.0)
    lp[rng.random(120) < 0.6] = np.log([0.995, 0.002, 0.002, 0.001])  # blank runs
    options = {"beam_width": 6, "token_min_logp": -6.0, "beam_threshold": 12.0}
    scorer = scorers(lm_scorer)[kind]
    whole = prefix_beam_search(lp, 0, scorer=scorer, nbest=0, **options)
    search = PrefixBeamSearch(VOCAB.size, 0, scorer=scorer, **options)
    cuts = _splits(rng, 120)
    for start, stop in itertools.pairwise(cuts):
        search.advance(lp[start:stop])
    assert search.frames == 120
    pieces = search.hypotheses(0)
    assert [h.tokens for h in pieces] == [h.tokens for h in whole]
    for a, b in zip(pieces, whole):
        assert a.score == pytest.approx(b.score, abs=1e-9)
        assert a.acoustic == pytest.approx(b.acoustic, abs=1e-9)
    assert search.best_tokens() in {h.tokens for h in whole}


def test_a_beam_stream_finishes_with_what_decode_gives(lm_scorer, tmp_path):
    path = tmp_path / "lm.arpa"
    path.write_text(ARPA)
    rng = np.random.default_rng(5)
    lp = random_log_probs(rng, 80, VOCAB.size, peak=3.0)
    decoder = make_decoder(DecodingOptions(method="beam", beam_width=8, lm=str(path),
                                           hotwords=("ab:2",)), VOCAB, 0.02)
    stream = decoder.stream()
    assert stream.partial() == "" and stream.finish().text == ""
    partials = []
    for start in range(0, 80, 7):
        stream.feed(lp[start:start + 7])
        partials.append(stream.partial())
    assert stream.frames == 80
    got, want = stream.finish(), decoder.decode(lp)
    assert got.text == want.text and got.words == want.words
    assert got.confidence == pytest.approx(want.confidence, abs=1e-9)
    for k, partial in zip(range(7, 87, 7), partials):  # each: the best prefix so far
        o = decoder.options
        search = PrefixBeamSearch(VOCAB.size, 0, 8, decoder.scorer, o.token_min_logp,
                                  o.beam_threshold, o.blank_skip)
        search.advance(lp[:k])
        assert partial == " ".join(VOCAB.decode(search.best_tokens()).split())
    assert len(set(partials)) > 1
    with pytest.raises(ValueError, match="NaN"):
        stream.feed(np.full((2, VOCAB.size), np.nan))


def test_blank_skip_starts_no_token_in_a_surely_blank_frame():
    # frame 1: blank 0.9995, "a" 0.0005; the other frames are blank
    p = np.full((4, 4), 1e-12)
    p[:, 0] = 1.0
    p[1, 0], p[1, 2] = 0.9995, 0.0005
    lp = np.log(p / p.sum(axis=1, keepdims=True))
    exact = prefix_beam_search(lp, 0, beam_width=4, nbest=0, token_min_logp=-10)
    skipped = prefix_beam_search(lp, 0, beam_width=4, nbest=0, token_min_logp=-10,
                                 blank_skip=0.999)
    looser = prefix_beam_search(lp, 0, beam_width=4, nbest=0, token_min_logp=-10,
                                blank_skip=0.9999)
    assert {h.tokens for h in exact} == {(), (2,)} == {h.tokens for h in looser}
    assert [h.tokens for h in skipped] == [()]
    assert skipped[0].score == pytest.approx(exact[0].score, abs=1e-3)


@pytest.mark.parametrize("kind", ["none", "lm", "hotwords"])
def test_blank_skip_keeps_the_winner_of_peaky_ctc_output(lm_scorer, kind):
    """On CTC-like frames (mostly sure blanks, a few sure tokens) skipping the sure blanks
    changes neither the best prefix nor, beyond 1e-3, its score."""
    scorer = scorers(lm_scorer)[kind]
    rng = np.random.default_rng(11)
    for _ in range(20):
        logits = rng.normal(size=(40, VOCAB.size))
        speech = rng.random(40) < 0.3
        logits[~speech, 0] += 9.0
        logits[speech, rng.integers(1, VOCAB.size, speech.sum())] += 6.0
        lp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        assert (np.exp(lp[:, 0]) >= 0.999).mean() > 0.3  # the frames blank_skip leaves out
        exact = prefix_beam_search(lp, 0, 8, scorer, token_min_logp=-10, beam_threshold=10)
        fast = prefix_beam_search(lp, 0, 8, scorer, token_min_logp=-10, beam_threshold=10,
                                  blank_skip=0.999)
        assert fast[0].tokens == exact[0].tokens
        assert fast[0].score == pytest.approx(exact[0].score, abs=1e-3)
        search = PrefixBeamSearch(VOCAB.size, 0, 8, scorer, -10, 10, blank_skip=0.999)
        for start in range(0, 40, 7):  # the skipped frames do not depend on the split
            search.advance(lp[start:start + 7])
        assert search.hypotheses(1)[0].tokens == fast[0].tokens
        assert search.hypotheses(1)[0].score == pytest.approx(fast[0].score, abs=1e-9)


def test_repeats_need_a_blank_between():
    # frames: a a | a _ a  -> "a" (merged repeat) vs "aa" (blank between)
    p = np.full((3, 4), 1e-6)
    p[0, 2] = p[1, 2] = p[2, 2] = 1.0
    lp = np.log(p / p.sum(axis=1, keepdims=True))
    assert prefix_beam_search(lp, 0, beam_width=8)[0].tokens == (2,)
    p[1] = 1e-6
    p[1, 0] = 1.0
    lp = np.log(p / p.sum(axis=1, keepdims=True))
    assert prefix_beam_search(lp, 0, beam_width=8)[0].tokens == (2, 2)


def test_token_pruning_keeps_the_best_token_of_every_frame():
    lp = random_log_probs(np.random.default_rng(3), 20, VOCAB.size, peak=4.0)
    greedy = lp.argmax(axis=1)
    hyps = prefix_beam_search(lp, 0, beam_width=1, token_min_logp=0.0)
    tokens = [c for i, c in enumerate(greedy) if c != 0 and (i == 0 or greedy[i - 1] != c)]
    assert hyps[0].tokens == tuple(tokens)


def test_no_frames_gives_the_empty_hypothesis():
    hyps = prefix_beam_search(np.zeros((0, 4)), 0, beam_width=4)
    assert hyps[0].tokens == () and hyps[0].score == 0.0


def test_a_language_model_changes_the_winner(tmp_path):
    # acoustics slightly prefer "b", the LM strongly prefers "a" after <s>
    p = np.array([[0.1, 0.0, 0.4, 0.5], [0.9, 0.0, 0.05, 0.05]]) + 1e-9
    lp = np.log(p / p.sum(axis=1, keepdims=True))
    path = tmp_path / "lm.arpa"
    path.write_text(ARPA)
    plain = make_decoder(DecodingOptions(method="beam", beam_width=8, word_bonus=0), VOCAB, 0.02)
    fused = make_decoder(DecodingOptions(method="beam", beam_width=8, lm=str(path),
                                         lm_weight=2.0, word_bonus=0), VOCAB, 0.02)
    assert plain.decode(lp).text == "b"
    assert fused.decode(lp).text == "a"


def test_decoder_reports_times_confidences_and_nbest():
    rng = np.random.default_rng(0)
    frames = [2, 2, 0, 1, 3, 3, 0]  # "a b"
    p = np.full((len(frames), 4), 0.02) + rng.uniform(0, 0.01, size=(len(frames), 4))
    for t, c in enumerate(frames):
        p[t, c] = 0.9
    lp = np.log(p / p.sum(axis=1, keepdims=True))
    decoder = make_decoder(DecodingOptions(method="beam", beam_width=8, nbest=3), VOCAB, 0.04)
    result = decoder.decode(lp)
    assert result.text == "a b"
    assert [(w.text, w.start, w.end) for w in result.words] == [("a", 0.0, 0.08),
                                                                 ("b", 0.16, 0.24)]
    assert all(0.0 < w.confidence <= 1.0 for w in result.words)
    assert result.confidence == pytest.approx(math.prod(w.confidence for w in result.words))
    assert 1 < len(result.alternatives) <= 3 and result.alternatives[0].text == "a b"
    posts = [a.posterior for a in result.alternatives]
    assert posts == sorted(posts, reverse=True) and sum(posts) <= 1.0 + 1e-9
    assert result.to_dict()["alternatives"][0]["text"] == "a b"
    assert "alternatives" not in make_decoder(DecodingOptions(method="beam"), VOCAB,
                                              0.04).decode(lp).to_dict()


def test_silence_decodes_to_nothing():
    lp = np.log(np.tile([0.97, 0.01, 0.01, 0.01], (50, 1)))
    result = make_decoder(DecodingOptions(method="beam"), VOCAB, 0.02).decode(lp)
    assert result.text == "" and result.words == ()


def test_the_word_time_aligner_matches_viterbi_align():
    from edgeasr_device.decoding.align import viterbi_align
    from edgeasr_device.decoding.beam_decoder import _best_path_frames

    rng = np.random.default_rng(5)
    for trial in range(300):
        t_len = int(rng.integers(1, 25))
        lp = random_log_probs(rng, t_len, VOCAB.size, peak=float(rng.choice([0.5, 3.0])))
        if trial % 3 == 0:  # ties
            lp = np.round(lp)
        ids = rng.integers(1, VOCAB.size, size=int(rng.integers(1, t_len // 2 + 2)))
        if t_len < ids.size + int((ids[1:] == ids[:-1]).sum()):
            continue
        spans = viterbi_align(lp, ids.tolist(), 0).tokens
        starts, ends = _best_path_frames(lp, ids, 0)
        assert starts.tolist() == [s.start for s in spans]
        assert ends.tolist() == [s.end - 1 for s in spans]
