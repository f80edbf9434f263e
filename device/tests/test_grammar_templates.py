"""Reading hassil grammar files: errors name file, line and the offending token."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("hassil")

from edgeasr_device.decoding.grammar import GrammarError
from edgeasr_device.decoding.grammar.templates import load_templates
from edgeasr_device.errors import DecodingError, EdgeAsrError

GOOD = """\
language: en
intents:
  TurnOn:
    data:
      - sentences:
          - "(turn|switch) on [the] {room} lights"
lists:
  room:
    values: [kitchen, {in: "living room", out: living_room}]
"""


def write(tmp_path, text, name="intents.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_a_good_file_loads_into_hassil_intents_with_locations(tmp_path):
    path = write(tmp_path, GOOD)
    templates = load_templates(path)
    assert list(templates.intents.intents) == ["TurnOn"]
    where = templates.locate("TurnOn", "(turn|switch) on [the] {room} lights")
    assert (where.file, where.line) == (str(path), 6)
    assert templates.files == (str(path),)


def test_grammar_error_is_a_decoding_error():
    assert issubclass(GrammarError, DecodingError) and issubclass(GrammarError, EdgeAsrError)


@pytest.mark.parametrize("template, problem, token", [
    ("turn on (the lights", "never closed", "'(the lights'"),
    ("turn on the lights)", "unexpected ')' at column 19", "the lights)"),
    ("turn [on the lights", "never closed", "'[on the lights'"),
    ("turn on {room lights", "never closed", "'{room lights'"),
    ("turn on (the] lights", "closed by ']'", "'(the]'"),
    ("turn on {ro(om} lights", "inside {", "'{ro('"),
    ("turn on {} lights", "empty '{}' at column 9", "'{}'"),
    ("turn on <> lights", "empty '<>'", "'<>'"),
])
def test_a_syntax_error_names_file_line_column_and_token(tmp_path, template, problem, token):
    path = write(tmp_path, GOOD.replace("(turn|switch) on [the] {room} lights", template))
    with pytest.raises(GrammarError) as err:
        load_templates(path)
    message = str(err.value)
    assert message.startswith(f"{path}:6: ")
    assert problem in message and token in message and template in message


def test_errors_in_rules_and_list_values_are_located(tmp_path):
    rule = GOOD + "expansion_rules:\n  the: \"[the\"\n"
    path = write(tmp_path, rule)
    with pytest.raises(GrammarError, match=r"intents.yaml:11: .*never closed.*expansion rule <the>"):
        load_templates(path)
    value = GOOD.replace('{in: "living room", out: living_room}',
                         '{in: "(living room|lounge", out: living_room}')
    path = write(tmp_path, value)
    with pytest.raises(GrammarError, match=r"intents.yaml:9: .*value of list \{room\}"):
        load_templates(path)


@pytest.mark.parametrize("text, message", [
    ("intents:\n  TurnOn:\n    sentences: [hi]\n", r":2: intent TurnOn needs 'data:'"),
    ("intents:\n  TurnOn:\n    data:\n      - slots: {a: b}\n", r":4: .*needs 'sentences:'"),
    ("intents:\n  TurnOn:\n    data:\n      - sentences: [on]\n", r":4: sentence of TurnOn must be a string"),
    ("intent:\n  TurnOn: {}\n", r":1: unknown top-level key 'intent'"),
    ("lists:\n  room:\n    values: [kitchen, 3]\n", r":3: list \{room\}: value 3 is not a string"),
    ("lists:\n  room:\n    items: [kitchen]\n", r":2: list \{room\} needs 'values:'"),
    ("lists:\n  n:\n    range: {from: 9, to: 1}\n", r":3: list \{n\}: range needs from <= to"),
    ("intents: [\n", r":2: not valid YAML"),
    ("language: en\n", r"has no intents"),
])
def test_structure_errors_are_clear(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(GrammarError, match=message):
        load_templates(path)


def test_a_folder_is_merged_in_name_order(tmp_path):
    write(tmp_path, GOOD.split("lists:")[0], "a_intents.yaml")
    write(tmp_path, "language: en\nlists:\n  room:\n    values: [garage]\n", "b_lists.yaml")
    (tmp_path / "notes.txt").write_text("ignored")
    templates = load_templates(tmp_path)
    assert [p.split("/")[-1] for p in templates.files] == ["a_intents.yaml", "b_lists.yaml"]
    assert "room" in templates.intents.slot_lists


def test_missing_files_are_reported(tmp_path):
    with pytest.raises(GrammarError, match="no such grammar file"):
        load_templates(tmp_path / "nope.yaml")
    (tmp_path / "empty").mkdir()
    with pytest.raises(GrammarError, match="no .yaml/.yml/.json grammar files"):
        load_templates(tmp_path / "empty")


def test_without_hassil_the_device_imports_and_a_grammar_says_what_to_install(tmp_path):
    path = write(tmp_path, GOOD)
    code = textwrap.dedent(f"""
        import sys
        sys.modules["hassil"] = None  # as if it were not installed
        import edgeasr_device, edgeasr_device.recognizer
        from edgeasr_device.decoding import DecodingOptions, make_decoder
        from edgeasr_device.vocab import Vocabulary
        assert "yaml" not in sys.modules
        options = DecodingOptions(method="grammar", grammar={str(path)!r})
        try:
            make_decoder(options, Vocabulary.english(), 0.02)
        except Exception as err:
            print(type(err).__name__, err)
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.startswith("GrammarError")
    assert "pip install 'edgeasr-device[grammar]'" in result.stdout
