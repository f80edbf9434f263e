"""The "grammar" decoding method: text, intent and slots, or no match with a reason."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest

pytest.importorskip("hassil")

from edgeasr_device.decoding import (
    DecodingOptions,
    GrammarDecoder,
    Intent,
    Transcript,
    make_decoder,
)
from edgeasr_device.decoding.grammar import grammar_search, load_grammar
from edgeasr_device.errors import DecodingError
from edgeasr_device.recognizer import Recognizer
from edgeasr_device.vocab import Vocabulary

VOCAB = Vocabulary.english()
FRAME = 0.02
GRAMMAR = """\
language: en
intents:
  HassTurnOn:
    data:
      - sentences: ["(turn|switch) on [the] {area} {device}", "(turn|switch) [the] {area} {device} on"]
        slots: {state: "on"}
  HassSetVolume:
    data:
      - sentences: ["set [the] volume to {volume} percent"]
  EnterCode:
    data:
      - sentences: ["{digit:d1} {digit:d2} {digit:d3}"]
lists:
  area:
    values: [kitchen, {in: "living room", out: living_room}, bedroom]
  device:
    values: [lights, {in: "(tv|television)", out: tv}, fan]
  volume:
    range: {from: 0, to: 100}
  digit:
    values: [{in: "(zero|oh)", out: 0}, {in: one, out: 1}, {in: two, out: 2}, {in: nine, out: 9}]
"""


def fake_log_probs(text: str, peak: float = 0.9, frames: int = 3, noise: float = 0.0,
                   seed: int = 0, silence: int = 1) -> np.ndarray:
    """``(T, V)`` log-probs whose best path spells ``text``: each character ``frames`` frames
    at probability ``peak``, a blank between characters, ``silence`` blank frames around."""
    blank = VOCAB.blank_index
    rows = [blank] * silence
    for token in VOCAB.encode(text):
        rows += [token] * frames + [blank]
    rows += [blank] * silence
    probs = np.full((len(rows), VOCAB.size), (1 - peak) / (VOCAB.size - 1))
    probs[np.arange(len(rows)), rows] = peak
    lp = np.log(probs)
    if noise:
        lp += np.random.default_rng(seed).normal(0.0, noise, lp.shape)
        lp -= np.log(np.exp(lp).sum(axis=1, keepdims=True))
    return lp.astype(np.float32)


@pytest.fixture()
def grammar_file(tmp_path):
    path = tmp_path / "intents.yaml"
    path.write_text(textwrap.dedent(GRAMMAR), encoding="utf-8")
    return path


@pytest.fixture()
def decoder(grammar_file):
    return make_decoder(DecodingOptions(method="grammar", grammar=str(grammar_file)), VOCAB,
                        FRAME)


@pytest.mark.parametrize("spoken, text, intent", [
    ("turn on the kitchen lights", "turn on the kitchen lights",
     Intent("HassTurnOn", {"area": "kitchen", "device": "lights", "state": "on"})),
    ("switch the living room television on", "switch the living room television on",
     Intent("HassTurnOn", {"area": "living_room", "device": "tv", "state": "on"})),
    ("set volume to forty two percent", "set volume to forty two percent",
     Intent("HassSetVolume", {"volume": 42})),
    ("nine oh one", "nine oh one", Intent("EnterCode", {"d1": 9, "d2": 0, "d3": 1})),
    # near misses snap to the closest sentence of the grammar
    ("turn on the kitchen light", "turn on the kitchen lights",
     Intent("HassTurnOn", {"area": "kitchen", "device": "lights", "state": "on"})),
    ("set volume to fourty two percent", "set volume to forty two percent",
     Intent("HassSetVolume", {"volume": 42})),
])
def test_commands_decode_to_text_intent_and_slots(decoder, spoken, text, intent):
    result = decoder.decode(fake_log_probs(spoken, noise=0.3))
    assert result.text == text and result.intent == intent and result.no_match is None
    assert [w.text for w in result.words] == text.split()
    assert all(0.0 < w.confidence <= 1.0 and w.start < w.end for w in result.words)
    starts = [w.start for w in result.words]
    assert starts == sorted(starts) and result.words[-1].end <= len(fake_log_probs(spoken)) * FRAME


def test_json_has_text_and_intent(decoder):
    record = decoder.decode(fake_log_probs("turn on the bedroom fan")).to_dict()
    assert json.loads(json.dumps(record))["intent"] == {
        "name": "HassTurnOn", "slots": {"area": "bedroom", "device": "fan", "state": "on"}}
    assert record["text"] == "turn on the bedroom fan" and "no_match" not in record


def test_speech_outside_the_grammar_is_no_match_with_a_reason(decoder):
    result = decoder.decode(fake_log_probs("what is the weather like tomorrow"))
    assert result.intent is None and result.text == "" and result.words == ()
    assert "no sentence of the grammar fits" in result.no_match or "nats per speech frame" \
        in result.no_match
    assert "what is the weather like tomorrow" in result.no_match  # the free transcription
    record = result.to_dict()
    assert record["intent"] is None and record["no_match"] == result.no_match


def test_an_unlikely_sentence_is_rejected_by_the_settable_threshold(grammar_file):
    # "turn on the kitchen fax": the grammar's closest sentence differs by a word
    lp = fake_log_probs("turn on the kitchen fax", peak=0.98)
    strict = make_decoder(DecodingOptions(method="grammar", grammar=str(grammar_file),
                                          grammar_threshold=0.2), VOCAB, FRAME)
    result = strict.decode(lp)
    assert result.intent is None
    assert "the closest sentence of the grammar, \"turn on the kitchen fan\"" in result.no_match
    assert "(threshold 0.2)" in result.no_match
    lenient = make_decoder(DecodingOptions(method="grammar", grammar=str(grammar_file),
                                           grammar_threshold=50.0), VOCAB, FRAME)
    assert lenient.decode(lp).intent.slots["device"] == "fan"


def test_silence_does_not_dilute_the_no_match_score(grammar_file):
    options = DecodingOptions(method="grammar", grammar=str(grammar_file), grammar_threshold=0.2)
    decoder = make_decoder(options, VOCAB, FRAME)
    short = decoder.decode(fake_log_probs("turn on the kitchen fax", peak=0.98))
    padded = decoder.decode(fake_log_probs("turn on the kitchen fax", peak=0.98, silence=400))
    assert short.intent is None and padded.intent is None


def test_empty_audio_and_bad_shapes(decoder):
    empty = decoder.decode(np.zeros((0, VOCAB.size), np.float32))
    assert empty.intent is None and "no frames" in empty.no_match
    with pytest.raises(ValueError, match="shape"):
        decoder.decode(np.zeros((5, 7), np.float32))


def test_the_search_keeps_one_hypothesis_per_prefix(grammar_file):
    grammar = load_grammar(grammar_file, VOCAB)
    lp = fake_log_probs("switch on living room tv", noise=0.5, seed=3)
    best, partial = grammar_search(lp, grammar.graph, VOCAB.blank_index, beam_width=2)
    assert VOCAB.decode(best.ids).strip() == "switch on living room tv" and best.complete
    assert partial.log_prob >= best.log_prob - 1e-9


def test_options_validate_the_grammar_fields(grammar_file):
    with pytest.raises(DecodingError, match="needs grammar="):
        DecodingOptions(method="grammar")
    with pytest.raises(DecodingError, match="needs method='grammar'"):
        DecodingOptions(grammar=str(grammar_file))
    with pytest.raises(DecodingError, match="unknown grammar_mode"):
        DecodingOptions(method="grammar", grammar="g.yaml", grammar_mode="loose")
    with pytest.raises(DecodingError, match="grammar_threshold"):
        DecodingOptions(method="grammar", grammar="g.yaml", grammar_threshold=-1)
    options = DecodingOptions(method="grammar", grammar=grammar_file, grammar_threshold=2)
    assert options.grammar == str(grammar_file) and options.grammar_threshold == 2.0
    assert DecodingOptions.from_dict(options.to_dict()) == options


class _FakeModel:
    """An AcousticModel whose output spells a fixed sentence."""

    sample_rate = 16000
    frame_duration = FRAME
    vocabulary = VOCAB

    def __init__(self, text):
        self.text = text

    def log_probs(self, waveform):
        return fake_log_probs(self.text)


def test_the_recognizer_takes_grammar_options(grammar_file):
    options = DecodingOptions(method="grammar", grammar=str(grammar_file))
    recognizer = Recognizer(_FakeModel("switch on bedroom tv"), options=options)
    assert isinstance(recognizer.decoder, GrammarDecoder)
    result = recognizer.transcribe(np.zeros(1600, np.float32), sample_rate=16000)
    assert isinstance(result, Transcript)
    assert result.intent == Intent("HassTurnOn", {"area": "bedroom", "device": "tv",
                                                  "state": "on"})


def test_a_word_the_speaker_did_not_say_is_rejected(grammar_file):
    # the grammar only knows "turn on": "turn off ..." must not become HassTurnOn
    lp = fake_log_probs("turn off the kitchen lights", peak=0.98)
    options = DecodingOptions(method="grammar", grammar=str(grammar_file),
                              grammar_min_confidence=0.1)
    result = make_decoder(options, VOCAB, FRAME).decode(lp)
    assert result.intent is None
    assert result.no_match.startswith("the word \"on\" of the closest sentence of the grammar")
    assert "the free transcription is \"turn off the kitchen lights\"" in result.no_match
    lenient = options.replace(grammar_min_confidence=0.0, grammar_threshold=10.0)
    assert make_decoder(lenient, VOCAB, FRAME).decode(lp).intent.name == "HassTurnOn"
    with pytest.raises(DecodingError, match="grammar_min_confidence"):
        options.replace(grammar_min_confidence=1.5)


def test_cli_flags_choose_the_grammar_method(grammar_file):
    from edgeasr_device.cli_options import options_from_flags

    options = options_from_flags(grammar=str(grammar_file), grammar_threshold=0.5)
    assert options.method == "grammar" and options.grammar_threshold == 0.5
    assert options.grammar_mode == "strict" and options.lm is None
    bias = options_from_flags(grammar=str(grammar_file), grammar_mode="bias", beam_width=8,
                              lm_weight=1.0)
    assert (bias.grammar_mode, bias.beam_width, bias.lm_weight) == ("bias", 8, 1.0)
    penalised = options_from_flags(grammar=str(grammar_file), grammar_mode="bias",
                                   oov_penalty=7.5)
    assert penalised.oov_penalty == 7.5  # --oov-penalty reaches the bias mode's LM
    assert options_from_flags().method == "greedy"
    with pytest.raises(DecodingError, match="--grammar-mode needs --grammar"):
        options_from_flags(grammar_mode="bias")


def test_device_cli_transcribes_with_a_grammar(tiny_tflite, grammar_file, tmp_path):
    import soundfile as sf
    from click.testing import CliRunner

    from edgeasr_device.cli import main

    wav = tmp_path / "noise.wav"
    sf.write(wav, np.random.default_rng(0).normal(0, 0.1, 16000).astype(np.float32), 16000)
    runner = CliRunner()
    result = runner.invoke(main, ["transcribe", "--model", str(tiny_tflite), "--grammar",
                                  str(grammar_file), "--json", str(wav)])
    assert result.exit_code == 0, result.output
    record = json.loads(result.output.splitlines()[-1])
    assert "intent" in record  # an untrained model: a command or a no-match with a reason
    assert (record["intent"] is None) == ("no_match" in record)
    bad = runner.invoke(main, ["transcribe", "--model", str(tiny_tflite), "--grammar-mode",
                               "bias", str(wav)])
    assert bad.exit_code != 0 and "--grammar-mode needs --grammar" in bad.output


@pytest.mark.parametrize("said", ["turn on the kitchen lights", "turn off the kitchen lights",
                                  "what time is it"])
def test_closest_holds_what_the_no_match_tests_judge(grammar_file, said):
    """``closest`` is strict decoding before its two tests: applying them by hand to its gap
    and weakest word gives the decoder's verdict, at any thresholds."""
    lp = fake_log_probs(said)
    base = DecodingOptions(method="grammar", grammar=str(grammar_file))
    found = make_decoder(base, VOCAB, FRAME).closest(lp)
    assert found.free == said
    for threshold in (0.1, 1.0, 5.0):
        for least in (0.0, 0.05, 0.5):
            options = base.replace(grammar_threshold=threshold, grammar_min_confidence=least)
            result = make_decoder(options, VOCAB, FRAME).decode(lp)
            accepted = (found.text is not None and found.gap <= threshold
                        and found.min_confidence >= least)
            assert (result.no_match is None) == accepted, (threshold, least, result.no_match)
            if accepted:
                assert result.text == found.text
    if said.startswith("turn on"):
        assert found.text == said and found.gap == pytest.approx(0.0, abs=1e-6)
