"""Grammar expansion: the token graph holds exactly the sentences hassil expands to."""

from __future__ import annotations

import textwrap

import pytest

hassil = pytest.importorskip("hassil")

from edgeasr_device.decoding.grammar import GrammarError, load_grammar
from edgeasr_device.vocab import Vocabulary

VOCAB = Vocabulary.english()

GRAMMAR = """\
language: en
intents:
  TurnOn:
    data:
      - sentences:
          - "<turn> on [the] {room} light[s]"
          - "<turn> [the] {room} light[s] on"
        slots: {domain: light}
  SetVolume:
    data:
      - sentences:
          - "set [the] volume to {volume}[ percent| %]"
  Order:
    data:
      - sentences:
          - "(red;green) please"
  Digits:
    data:
      - sentences:
          - "{digit:first} {digit:second}"
expansion_rules:
  turn: "(turn|switch)"
lists:
  room:
    values: [kitchen, {in: "living room", out: living_room}, {in: "(lounge|den)", out: den}]
  volume:
    range: {from: 1, to: 25}
  digit:
    values: [{in: "(zero|oh)", out: 0}, {in: one, out: 1}]
"""


def write(tmp_path, text, name="intents.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def sentences_of(graph, vocab=VOCAB, limit=100_000):
    """Every whole sentence of a (finite) token graph, trailing spaces stripped."""
    out, stack = set(), [(0, ())]
    while stack:
        state, ids = stack.pop()
        if graph.is_final(state):
            out.add(vocab.decode(ids).strip())
        labels, targets = graph.arcs(state)
        stack.extend((int(t), ids + (int(c),)) for c, t in zip(labels, targets))
        assert len(out) < limit
    return out


def test_the_graph_holds_exactly_hassils_expansion(tmp_path):
    grammar = load_grammar(write(tmp_path, GRAMMAR), VOCAB)
    expected = {(name, " ".join(text.split()))
                for name, text in hassil.sample_intents(grammar.templates.intents, language="en")}
    # hassil spells numbers with hyphens ("twenty-one") and its matcher also takes spaces
    sayable = {text.replace("-", " ") for _, text in expected
               if not any(c.isdigit() or c == "%" for c in text)}
    assert sentences_of(grammar.graph) == sayable
    assert "switch the lounge lights on" in sayable and "green red please" in sayable
    assert "set volume to twenty one percent" in sayable and "set volume to twelve" in sayable
    for name, text in expected:  # and each sentence parses back to its intent
        assert grammar.parse(text).name == name


def test_slots_come_back_with_out_values_numbers_and_fixed_values(tmp_path):
    grammar = load_grammar(write(tmp_path, GRAMMAR), VOCAB)
    assert grammar.parse("turn on the den lights").slots == {"room": "den", "domain": "light"}
    assert grammar.parse("switch living room light on").slots == {"room": "living_room",
                                                                  "domain": "light"}
    assert grammar.parse("set the volume to eleven percent").slots == {"volume": 11}
    assert grammar.parse("oh one").slots == {"first": 0, "second": 1}
    assert grammar.parse("turn on the attic lights") is None
    assert grammar.parse("") is None


def test_word_boundaries_give_exactly_one_space(tmp_path):
    grammar = load_grammar(write(tmp_path, GRAMMAR), VOCAB)
    assert grammar.accepts("turn on kitchen light") and grammar.accepts("turn on kitchen lights")
    space = VOCAB.space_index
    ids = VOCAB.encode("turn on kitchen lights")
    assert grammar.graph.accepts(ids + [space])               # a trailing space is allowed
    assert not grammar.graph.accepts([space] + ids)           # a leading one is not
    doubled = ids[:4] + [space] + ids[4:]
    assert not grammar.graph.accepts(doubled)                 # nor two between words
    assert not grammar.accepts("turnon kitchen lights")       # nor none


def test_punctuation_and_hyphens_are_literal_like_in_hassil(tmp_path):
    # hassil compares template text literally: "turn-on" does not match "turn on"
    text = GRAMMAR.replace('"<turn> on [the] {room} light[s]"', '"(turn-on|turn on) {room}"')
    grammar = load_grammar(write(tmp_path, text), VOCAB)
    assert grammar.accepts("turn on den") and grammar.parse("turn on den").name == "TurnOn"
    assert grammar.skipped == ()
    text = GRAMMAR.replace('"(red;green) please"', '"(red;green), please"')
    with pytest.raises(GrammarError, match=r"characters the model cannot emit: ','"):
        load_grammar(write(tmp_path, text), VOCAB)


def test_unsayable_branches_are_dropped_and_unsayable_templates_refused(tmp_path):
    grammar = load_grammar(write(tmp_path, GRAMMAR), VOCAB)
    assert grammar.skipped == ()  # "%" and digits had sayable alternatives
    bad = GRAMMAR.replace('"(red;green) please"', '"order 66"')
    path = write(tmp_path, bad)
    with pytest.raises(GrammarError) as err:
        load_grammar(path, VOCAB)
    message = str(err.value)
    assert f"{path}:16: Order \"order 66\"" in message
    assert "characters the model cannot emit: '6'" in message
    assert "respell them" in message and "--grammar-skip-unusable" in message
    grammar = load_grammar(path, VOCAB, skip_unusable=True)
    assert [u.intent for u in grammar.skipped] == ["Order"]
    assert not grammar.accepts("order sixty six")


def test_a_grammar_for_another_alphabet_is_refused(tmp_path):
    text = "language: de\nintents:\n  An:\n    data:\n      - sentences: [\"schalte das Licht ein ö\"]\n"
    with pytest.raises(GrammarError, match=r"(?s)no sentence of the grammar can be said with "
                                           r"this model's vocabulary.*'ö'.*respell"):
        load_grammar(write(tmp_path, text), VOCAB, skip_unusable=True)


def test_wildcards_cannot_be_constrained(tmp_path):
    text = GRAMMAR + "  message:\n    wildcard: true\n"
    text = text.replace('"(red;green) please"', '"say {message}"')
    with pytest.raises(GrammarError, match=r"wildcard list \{message\}"):
        load_grammar(write(tmp_path, text), VOCAB)


@pytest.mark.parametrize("old, new, message", [
    ("{room} light[s] on", "{rooms} light[s] on", r"intents.yaml:7: unknown list \{rooms\}"),
    ("<turn> on", "<twist> on", r"intents.yaml:6: unknown expansion rule <twist>"),
    ('turn: "(turn|switch)"', 'turn: "(turn|<turn>)"', r"refer to themselves: <turn> -> <turn>"),
])
def test_unknown_names_are_located(tmp_path, old, new, message):
    with pytest.raises(GrammarError, match=message):
        load_grammar(write(tmp_path, GRAMMAR.replace(old, new, 1)), VOCAB)


def test_a_large_slot_list_is_a_graph_not_an_expansion(tmp_path):
    names = [f"{a} {b} {c}" for a in ("red", "green", "blue", "black", "brown")
             for b in ("north", "south", "east", "west", "middle", "upper", "lower", "outer")
             for c in ("lamp", "light", "fan", "heater", "switch", "plug", "socket", "strip",
                       "speaker", "screen", "blind", "shade", "door", "gate", "window")]
    text = "language: en\nintents:\n  On:\n    data:\n      - sentences:\n" \
           "          - \"(turn|switch) on [the] {name} [in [the] {area}]\"\n" \
           "          - \"(turn|switch) [the] {name} on [in [the] {area}]\"\n" \
           "lists:\n  name:\n    values: [" + ", ".join(names) + "]\n" \
           "  area:\n    values: [kitchen, hall]\n"
    grammar = load_grammar(write(tmp_path, text), VOCAB)
    # 600 names x 2 templates x 3 area forms x (turn|switch) x [the] expand to ~29 000
    # sentences; the automaton is a few thousand nodes because list values share prefixes.
    assert grammar.graph.num_nodes < 20_000
    assert grammar.accepts("switch the brown outer socket on in the hall")
    assert grammar.parse("turn on blue west gate").slots == {"name": "blue west gate"}


def test_home_assistants_own_sentences_compile_and_parse(tmp_path):
    import json

    ha = pytest.importorskip("home_assistant_intents")
    if not hasattr(ha, "get_speech_to_phrase_intents"):
        pytest.skip("this home-assistant-intents has no speech-to-phrase sentences")
    data = ha.get_speech_to_phrase_intents("en")
    (tmp_path / "en.json").write_text(json.dumps(data))
    write(tmp_path, "language: en\nlists:\n"
                    "  name: {values: [kitchen light, ceiling fan, front door]}\n"
                    "  area: {values: [kitchen, living room, bedroom]}\n"
                    "  floor: {values: [upstairs, downstairs]}\n", "zz_lists.yaml")
    with pytest.raises(GrammarError, match=r"cannot be said with this model's vocabulary"):
        load_grammar(tmp_path, VOCAB)  # e.g. "set [the] brightness to {brightness}%"
    grammar = load_grammar(tmp_path, VOCAB, skip_unusable=True)
    assert grammar.sentences > 50
    assert all("cannot emit" in " ".join(u.reasons) for u in grammar.skipped)
    samples = list(hassil.sample_intents(grammar.templates.intents, language="en",
                                         max_sentences_per_intent=5))
    sayable = [(n, t) for n, t in samples if all(c in "abcdefghijklmnopqrstuvwxyz' " for c in t)]
    assert len(sayable) > 50
    # templates with requires_context need the satellite's area; those that need an
    # entity's domain (only Home Assistant knows it) may stay unmatched
    needs_domain = {name for name, intent in grammar.templates.intents.intents.items()
                    if any("domain" in d.requires_context for d in intent.data)}
    for name, text in sayable:
        assert grammar.accepts(" ".join(text.split())), text
        intent = grammar.parse(text, context={"area": {"value": "kitchen"}})
        assert (intent is not None and intent.name == name) or name in needs_domain, text


def test_skip_words_may_come_first_and_last_like_hassil_ignores_them(tmp_path):
    text = GRAMMAR + "skip_words: [please, \"can you\", \"for me\"]\n"
    grammar = load_grammar(write(tmp_path, text), VOCAB)
    for said in ("can you please turn on the den lights", "turn on the den lights for me",
                 "please turn on the den lights please"):
        assert grammar.accepts(said), said
        assert grammar.parse(said).slots == {"room": "den", "domain": "light"}
    assert not grammar.accepts("turn on please the den lights")  # not in the middle
    assert not grammar.accepts("please")
