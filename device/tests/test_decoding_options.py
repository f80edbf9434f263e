"""DecodingOptions, the decoder registry and log_softmax (edgeasr_device.decoding.base)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from edgeasr_device.decoding import (
    Decoder,
    DecodingOptions,
    GreedyDecoder,
    decoder_names,
    log_softmax,
    make_decoder,
    register_decoder,
)
from edgeasr_device.errors import DecodingError, EdgeAsrError
from edgeasr_device.vocab import Vocabulary


def test_default_is_greedy_and_options_are_frozen():
    options = DecodingOptions()
    assert options.method == "greedy"
    assert "greedy" in decoder_names()
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.method = "beam"  # type: ignore[misc]


@pytest.mark.parametrize("method", ["beams", "Greedy", "", None, 3])
def test_unknown_method_is_a_clear_error(method):
    with pytest.raises(DecodingError, match=r"unknown decoding method .*choose one of .*greedy"):
        DecodingOptions(method=method)  # type: ignore[arg-type]


def test_decoding_error_is_an_input_error():
    assert issubclass(DecodingError, EdgeAsrError) and issubclass(DecodingError, ValueError)


def test_round_trip_and_unknown_keys():
    options = DecodingOptions(method="greedy")
    assert DecodingOptions.from_dict(options.to_dict()) == options
    assert options.to_dict()["method"] == "greedy"
    assert DecodingOptions.from_dict({}) == DecodingOptions()
    with pytest.raises(DecodingError, match="beam_widht.*the options are"):
        DecodingOptions.from_dict({"method": "greedy", "beam_widht": 8})


def test_beam_options_round_trip_through_json(tmp_path):
    options = DecodingOptions(method="beam", beam_width=32, nbest=4, lm=tmp_path / "lm.arpa",
                              lm_weight=0.8, word_bonus=-0.5,
                              hotwords=["kitchen:2.5", "turn on"], token_min_logp=-np.inf)
    assert options.lm == str(tmp_path / "lm.arpa") and options.hotwords == ("kitchen:2.5",
                                                                          "turn on")
    data = json.loads(json.dumps(options.to_dict()))
    assert DecodingOptions.from_dict(data) == options
    assert hash(options) == hash(DecodingOptions.from_dict(data))
    assert options.replace(lm=None).lm is None
    on = options.replace(blank_skip=0.999)
    assert DecodingOptions.from_dict(json.loads(json.dumps(on.to_dict()))).blank_skip == 0.999
    assert DecodingOptions.from_dict({"method": "beam"}).blank_skip is None  # older files


@pytest.mark.parametrize("changes, message", [
    ({"beam_width": 0}, "beam_width must be a whole number"),
    ({"beam_width": 2.5}, "beam_width must be a whole number"),
    ({"nbest": 8, "beam_width": 4}, "nbest .8. cannot exceed beam_width"),
    ({"lm_weight": -1.0}, "lm_weight must be >= 0"),
    ({"word_bonus": float("nan")}, "word_bonus must be a number"),
    ({"lm_weight": "heavy"}, "lm_weight must be a number"),
    ({"lm": ""}, "lm must be the path"),
    ({"hotwords": "kitchen"}, "hotwords must be a list"),
    ({"hotwords": ["kitchen:lots"]}, "'lots' after ':' is not a number"),
    ({"hotwords": ["kitchen:-1"]}, "weight must be a positive number"),
    ({"hotwords": [":2"]}, "has no words"),
    ({"blank_skip": 0.0}, "blank_skip must be a probability"),
    ({"blank_skip": 1.5}, "blank_skip must be a probability"),
    ({"blank_skip": True}, "blank_skip must be a probability"),
    ({"blank_skip": "high"}, "blank_skip must be a probability"),
])
def test_bad_beam_options_are_clear_errors(changes, message):
    with pytest.raises(DecodingError, match=message):
        DecodingOptions(method="beam", **changes)


@pytest.mark.parametrize("changes", [{"lm": "lm.arpa"}, {"hotwords": ["on"]}, {"nbest": 2}])
def test_greedy_refuses_beam_only_options(changes):
    with pytest.raises(DecodingError, match="need beam search: use method='beam'"):
        DecodingOptions(**changes)


def test_make_decoder_builds_the_registered_decoder():
    vocabulary = Vocabulary.english()
    decoder = make_decoder(DecodingOptions(), vocabulary, 0.02)
    assert isinstance(decoder, GreedyDecoder) and isinstance(decoder, Decoder)
    assert decoder.vocabulary == vocabulary and decoder.frame_duration == 0.02


def test_a_method_cannot_be_registered_twice():
    with pytest.raises(RuntimeError, match="twice"):
        register_decoder("greedy")(GreedyDecoder)


def test_log_softmax_normalises_the_last_axis():
    rng = np.random.default_rng(0)
    logits = (rng.normal(size=(2, 7, 29)) * 30).astype(np.float32)
    lp = log_softmax(logits)
    assert lp.shape == logits.shape and lp.dtype == np.float32
    np.testing.assert_allclose(np.exp(lp.astype(np.float64)).sum(-1), 1.0, rtol=1e-5)
    reference = logits - np.log(np.exp(logits.astype(np.float64)).sum(-1, keepdims=True))
    np.testing.assert_allclose(lp, reference, atol=1e-4)
    assert np.isfinite(log_softmax(np.array([[1e4, 0.0]], np.float32))).all()
