"""Kneser-Ney building: distributions sum to one, pruning and vocabulary limits, the CLI."""

from __future__ import annotations

import math
import random
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest

from edgeasr_device.decoding.arpa import read_arpa, write_arpa
from edgeasr_device.decoding.kneser_ney import build_lm, discounts, simple_normalize
from edgeasr_device.decoding.lm_file import load_lm
from edgeasr_device.decoding.ngram import NgramModel
from edgeasr_device.errors import LanguageModelError

WORDS = ["turn", "on", "off", "the", "kitchen", "lights", "set", "volume", "to", "one", "two", "three", "four", "five"]


def sentences(seed: int = 0, count: int = 400) -> list[list[str]]:
    rng = random.Random(seed)
    zipf = [1.0 / (i + 1) for i in range(len(WORDS))]
    return [rng.choices(WORDS, weights=zipf, k=rng.randint(1, 7)) for _ in range(count)]


def model_of(entries) -> NgramModel:
    return NgramModel.from_entries(entries)


@pytest.mark.parametrize("order, min_counts, max_vocab", [
    (1, 1, None), (2, 1, None), (3, 1, None), (3, [1, 2, 3], None), (4, 2, None), (3, 1, 8)])
def test_every_history_sums_to_one(order, min_counts, max_vocab, tmp_path):
    entries = build_lm(sentences(), order=order, min_counts=min_counts, max_vocab=max_vocab)
    write_arpa(tmp_path / "lm.arpa", entries)  # through the text form (6 decimals)
    model = read_arpa(tmp_path / "lm.arpa")
    vocab = [w for w in model.words if w != "<s>"]
    if max_vocab:
        assert len(vocab) == max_vocab + 2  # + </s> and <unk>
    rng = random.Random(1)
    histories = [[], ["<s>"], ["<s>", "turn"], ["turn", "on"], ["the", "the", "the"],
                 ["never", "seen"]] + [rng.choices(model.words, k=order - 1) for _ in range(20)]
    for history in histories:
        total = sum(math.exp(model.log_prob_of(history, w)) for w in vocab)
        assert total == pytest.approx(1.0, abs=2e-5), history


def test_kneser_ney_prefers_words_that_follow_many_others():
    # "francisco" is frequent but only ever after "san"; "glasses" follows many words
    text = [["san", "francisco"]] * 20 + [[w, "glasses"] for w in WORDS]
    model = model_of(build_lm(text, order=2))
    assert model.log_prob_of(["turn"], "glasses") > model.log_prob_of(["turn"], "francisco")
    assert model.log_prob_of(["san"], "francisco") > math.log(0.5)


def test_pruning_keeps_prefixes_and_suffixes():
    entries = build_lm(sentences(), order=3, min_counts=[1, 5, 5])
    grams = [set(e.grams) for e in entries]
    for gram in grams[2]:
        assert gram[:2] in grams[1] and gram[1:] in grams[1]
    full = build_lm(sentences(), order=3)
    assert len(entries[2].grams) < len(full[2].grams)


def test_discounts_follow_the_modified_kneser_ney_formula():
    n1, n2, n3, n4 = 100, 40, 20, 10
    y = n1 / (n1 + 2 * n2)
    got = discounts(Counter({1: n1, 2: n2, 3: n3, 4: n4}))
    assert got == pytest.approx((1 - 2 * y * n2 / n1, 2 - 3 * y * n3 / n2, 3 - 4 * y * n4 / n3))
    assert discounts(Counter({1: 3})) == (0.5, 1.0, 1.5)  # too few counts: the fallback


@pytest.mark.parametrize("kwargs, message", [
    ({"order": 0}, "order must be"), ({"min_counts": [1, 2]}, "min_counts must be"),
    ({"max_vocab": 0}, "max_vocab must be"),
])
def test_bad_parameters(kwargs, message):
    with pytest.raises(LanguageModelError, match=message):
        build_lm(sentences(), **kwargs)
    with pytest.raises(LanguageModelError, match="no words"):
        build_lm([[], []])


def test_simple_normalize():
    assert simple_normalize("  Turn ON the kitchen’s lights, please!  ") == \
        "turn on the kitchen's lights please"
    assert simple_normalize("'quoted' -- words...") == "quoted words"


def test_device_cli_builds_compiles_and_describes(tmp_path):
    text = tmp_path / "commands.txt"
    text.write_text("Turn on the kitchen lights.\nturn off the lights\n\nset volume to five\n")
    arpa, binary = tmp_path / "lm.arpa", tmp_path / "lm.bin"

    def run(*args):
        result = subprocess.run([sys.executable, "-m", "edgeasr_device.cli", "lm", *args],
                                capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert "from 3 sentences (13 words)" in run("build", "--text", str(text), "--order", "3",
                                                "--out", str(arpa))
    assert "order 3" in run("compile", str(arpa), str(binary))
    assert "compiled, order 3" in run("info", str(binary))
    model, text_model = load_lm(binary), read_arpa(arpa)
    assert "kitchen" in model.words and model.words == text_model.words
    np.testing.assert_allclose(model.log_prob[2], text_model.log_prob[2])
    run("build", "--text", str(text), "--out", str(tmp_path / "direct.bin"), "--min-count", "1,1,2")
    assert load_lm(tmp_path / "direct.bin").order == 3
