"""French: the normaliser, the number speller, the alphabet, and prepare --language fr."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from edgeasr.cli import main
from edgeasr.errors import ConfigError
from edgeasr.text.french import is_non_speech, normalize_french
from edgeasr.text.languages import get_language, language_of
from edgeasr.text.numbers_fr import expand_french_numbers, number_to_french, ordinal_to_french
from edgeasr_device.vocab import FRENCH_LETTERS, Vocabulary


@pytest.mark.parametrize("text, expected", [
    ("Échec à l’ouverture de session.", "échec à l'ouverture de session"),
    ("Vous n'êtes plus en ligne.", "vous n'êtes plus en ligne"),
    ("« Aujourd'hui », dit-il… ", "aujourd'hui dit il"),
    ("Appuyez sur 1, puis sur la touche dièse (#).", "appuyez sur un puis sur la touche dièse"),
    ("dix-sept", "dix sept"),
    ("Le 1er mai, la 1re fois, le 2e étage, le 3ème", ("le premier mai la première fois le "
                                                        "deuxième étage le troisième")),
    ("à 14h30, à 8h, à 1h, à 21:05", ("à quatorze heures trente à huit heures à une "
                                      "heure à vingt et une heures cinq")),
    ("3,5 % de 2,05 €", "trois virgule cinq pour cent de deux virgule zéro cinq euros"),
    ("1\u00a0000\u00a0000 et 10\u202f000", "un million et dix mille"),
    ("composez le 007", "composez le zéro zéro sept"),
    ("appuyez sur 1: menu", "appuyez sur un menu"),
    ("Cœur, sœur, ÇA, Noël, maïs", "cœur sœur ça noël maïs"),
    ("[rires] oui", "oui"),
    ("'bonjour'", "bonjour"),
])
def test_normalize_french(text, expected):
    assert normalize_french(text) == expected
    assert normalize_french(expected) == expected  # idempotent


@pytest.mark.parametrize("n, words", [
    (0, "zéro"), (1, "un"), (16, "seize"), (17, "dix sept"), (21, "vingt et un"),
    (70, "soixante dix"), (71, "soixante et onze"), (77, "soixante dix sept"),
    (80, "quatre vingts"), (81, "quatre vingt un"), (91, "quatre vingt onze"),
    (99, "quatre vingt dix neuf"), (100, "cent"), (101, "cent un"), (200, "deux cents"),
    (280, "deux cent quatre vingts"), (1000, "mille"), (1080, "mille quatre vingts"),
    (80_000, "quatre vingt mille"), (200_000, "deux cent mille"), (1_000_000, "un million"),
    (2_000_001, "deux millions un"), (3_200_000_000, "trois milliards deux cents millions"),
])
def test_number_to_french(n, words):
    assert number_to_french(n) == words


def test_ordinals_and_limits():
    assert [ordinal_to_french(n) for n in (1, 2, 5, 9, 11, 21, 80, 100, 1000)] == [
        "premier", "deuxième", "cinquième", "neuvième", "onzième", "vingt et unième",
        "quatre vingtième", "centième", "millième"]
    with pytest.raises(ValueError):
        number_to_french(-1)
    assert expand_french_numbers("1234567890123").split() == [
        "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "zéro", "un",
        "deux", "trois"]


def test_every_normalised_character_is_in_the_french_alphabet():
    vocabulary = Vocabulary.french()
    text = normalize_french("À l'Hôtel-Dieu, où l'on reçoit 99 élèves âgés, naïfs & zélés.")
    vocabulary.encode(text)  # raises on any character outside the alphabet
    assert vocabulary.size == 29 + len(FRENCH_LETTERS) == 45
    assert vocabulary.tokens[:29] == Vocabulary.english().tokens


def test_non_speech_rows():
    for text in ("[ascending tones]", "(beep)", "(ahooga)", " [Son de singes qui crient] "):
        assert is_non_speech(text), text
    for text in ("un (deux)", "Merci.", "[rires] oui"):
        assert not is_non_speech(text), text


def test_languages():
    assert get_language("FR").normalize is normalize_french
    assert get_language("english").code == "en"
    assert language_of(Vocabulary.french()).code == "fr"
    assert language_of(Vocabulary.english()).code == "en"
    with pytest.raises(ConfigError, match="unknown language"):
        get_language("de")


def test_prepare_table_in_french(tmp_path):
    """--language fr: accents survive, non-speech rows are left out and counted."""
    (tmp_path / "audio").mkdir()
    rows = ["file\ttext"]
    texts = ["Échec à l'ouverture.", "Composez le 2.", "[ascending tones]", "(beep)",
             "Vous êtes maintenant en ligne.", "Merci.", "Au revoir.", "Dimanche", "Lundi",
             "Mardi"]
    for i, text in enumerate(texts):
        sf.write(tmp_path / "audio" / f"p{i}.wav", np.zeros(8000, np.int16), 8000)
        rows.append(f"audio/p{i}.wav\t{text}")
    (tmp_path / "prompts.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["prepare", "table", "--src", str(tmp_path / "prompts.tsv"),
                                       "--out", str(out), "--language", "fr"])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "prepare_report.json").read_text())
    assert report["skipped_by_reason"]["non_speech"]["count"] == 2
    assert "non_speech 2" in result.output
    kept = [json.loads(line)["text"] for split in ("train", "dev", "test")
            for line in (out / f"{split}.jsonl").read_text().splitlines()]
    assert len(kept) == 8 and "Échec à l'ouverture." in kept
    english = CliRunner().invoke(main, ["prepare", "table", "--src", str(tmp_path / "prompts.tsv"),
                                        "--out", str(tmp_path / "en")])
    assert english.exit_code == 0 and "non_speech" not in english.output  # unchanged for en


def test_normalize_command_takes_a_language():
    result = CliRunner().invoke(main, ["normalize", "--language", "fr", "Vous êtes le 21e."])
    assert result.exit_code == 0 and result.output.strip() == "vous êtes le vingt et unième"
