"""Tests for edgeasr.text.normalize and edgeasr.text.numbers."""

from __future__ import annotations

import csv
import doctest
import random
import re
import unicodedata
from pathlib import Path

import pytest

from edgeasr.text import normalize as normalize_module
from edgeasr.text import numbers as numbers_module
from edgeasr.text.normalize import (
    OUTPUT_CHARACTERS,
    fold_to_ascii,
    normalize_english,
    number_to_words,
    ordinal_to_words,
)
from edgeasr.text.numbers import fraction_to_words, year_to_words

ALLOWED = set(" abcdefghijklmnopqrstuvwxyz'")
_REPO = Path(__file__).resolve().parents[1]
_PROMPTS_CANDIDATES = (
    _REPO.parent / "shared" / "data" / "asterisk-prompts" / "prompts.tsv",
    _REPO / "shared" / "data" / "asterisk-prompts" / "prompts.tsv",
)
_NINES = "nine hundred ninety nine"
_SCALE_NAMES = (
    "sextillion", "quintillion", "quadrillion", "trillion", "billion", "million", "thousand",
)
_LARGEST_SPELLED = " ".join(f"{_NINES} {scale}" for scale in _SCALE_NAMES) + " " + _NINES


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (0, "zero"),
        (7, "seven"),
        (13, "thirteen"),
        (20, "twenty"),
        (42, "forty two"),
        (99, "ninety nine"),
        (100, "one hundred"),
        (103, "one hundred three"),
        (110, "one hundred ten"),
        (999, "nine hundred ninety nine"),
        (1000, "one thousand"),
        (1001, "one thousand one"),
        (2024, "two thousand twenty four"),
        (10_000, "ten thousand"),
        (100_000, "one hundred thousand"),
        (1_000_000, "one million"),
        (1_000_042, "one million forty two"),
        (1_234_567, "one million two hundred thirty four thousand five hundred sixty seven"),
        (3_000_000_000, "three billion"),
        (10**12, "one trillion"),
        (10**15, "one quadrillion"),
        (10**15 + 1, "one quadrillion one"),
        (10**18, "one quintillion"),
        (10**24 - 1, _LARGEST_SPELLED),
        (-3, "minus three"),
        (-1_000, "minus one thousand"),
    ],
)
def test_number_to_words(n: int, expected: str) -> None:
    assert number_to_words(n) == expected


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (0, "zeroth"),
        (1, "first"),
        (2, "second"),
        (3, "third"),
        (4, "fourth"),
        (5, "fifth"),
        (8, "eighth"),
        (9, "ninth"),
        (11, "eleventh"),
        (12, "twelfth"),
        (20, "twentieth"),
        (22, "twenty second"),
        (40, "fortieth"),
        (90, "ninetieth"),
        (100, "one hundredth"),
        (103, "one hundred third"),
        (1_000_000, "one millionth"),
    ],
)
def test_ordinal_to_words(n: int, expected: str) -> None:
    assert ordinal_to_words(n) == expected


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (1100, "eleven hundred"),
        (1492, "fourteen ninety two"),
        (1900, "nineteen hundred"),
        (1905, "nineteen oh five"),
        (1984, "nineteen eighty four"),
        (1999, "nineteen ninety nine"),
        (2000, "two thousand"),
        (2005, "two thousand five"),
        (2009, "two thousand nine"),
        (2010, "twenty ten"),
        (2026, "twenty twenty six"),
        (2099, "twenty ninety nine"),
        (1099, "one thousand ninety nine"),
        (2100, "two thousand one hundred"),
    ],
)
def test_year_to_words(n: int, expected: str) -> None:
    assert year_to_words(n) == expected


def test_fraction_to_words() -> None:
    assert fraction_to_words(1, 2) == "one half"
    assert fraction_to_words(3, 2) == "three halves"
    assert fraction_to_words(3, 4) == "three quarters"
    assert fraction_to_words(1, 3) == "one third"
    assert fraction_to_words(7, 8) == "seven eighths"


@pytest.mark.parametrize("bad", [1.5, "3", True, None])
def test_number_to_words_rejects_non_int(bad: object) -> None:
    with pytest.raises(TypeError):
        number_to_words(bad)  # type: ignore[arg-type]


def test_number_to_words_rejects_huge() -> None:
    with pytest.raises(ValueError):
        number_to_words(10**24)


CASES = [
    # Unicode NFKC: full-width forms and ligatures
    ("ＡＢＣ", "abc"),
    ("ﬁne ﬂour", "fine flour"),
    # apostrophe look-alikes
    ("don’t", "don't"),
    ("don‘t", "don't"),
    ("donʼt", "don't"),
    ("don`t", "don't"),
    ("don´t", "don't"),
    # accents fold to ASCII
    ("café", "cafe"),
    ("Crème Brûlée", "creme brulee"),
    ("naïve façade", "naive facade"),
    ("Straße Æsop Øresund Łódź", "strasse aesop oresund lodz"),
    ("İstanbul", "istanbul"),
    ("cafe\u0301", "cafe"),
    ("q\u0303 x\u0301\u0301", "q x"),
    ("€\u0301 ok", "ok"),
    # lower case
    ("HELLO World", "hello world"),
    # cardinals
    ("42", "forty two"),
    ("0", "zero"),
    ("100", "one hundred"),
    ("1,000,000", "one million"),
    ("1,234", "one thousand two hundred thirty four"),
    ("8500", "eight thousand five hundred"),
    ("-3", "minus three"),
    ("\u22123", "minus three"),
    ("(-7)", "minus seven"),
    ("1000000000000000", "one quadrillion"),
    ("999999999999999", "nine hundred ninety nine trillion nine hundred ninety nine billion "
     "nine hundred ninety nine million nine hundred ninety nine thousand nine hundred ninety nine"),
    ("12345678901234567890", "one two three four five six seven eight nine zero "
     "one two three four five six seven eight nine zero"),
    ("1,2,3", "one two three"),
    # leading zeros read digit by digit
    ("007", "zero zero seven"),
    ("0042", "zero zero four two"),
    # decimals
    ("3.14", "three point one four"),
    ("0.5", "zero point five"),
    (".5", "point five"),
    ("-2.5", "minus two point five"),
    ("1,000.25", "one thousand point two five"),
    ("pi is 3.14.", "pi is three point one four"),
    ("192.168.0.1", "one hundred ninety two one hundred sixty eight zero one"),
    # ordinals
    ("1st", "first"),
    ("2nd", "second"),
    ("3rd", "third"),
    ("4th", "fourth"),
    ("12th", "twelfth"),
    ("22nd", "twenty second"),
    ("103rd", "one hundred third"),
    ("1,000th", "one thousandth"),
    ("the 21st-century", "the twenty first century"),
    # years
    ("1984", "nineteen eighty four"),
    ("1900", "nineteen hundred"),
    ("1905", "nineteen oh five"),
    ("1100", "eleven hundred"),
    ("1999", "nineteen ninety nine"),
    ("2000", "two thousand"),
    ("2005", "two thousand five"),
    ("2010", "twenty ten"),
    ("2026", "twenty twenty six"),
    ("2099", "twenty ninety nine"),
    ("1099", "one thousand ninety nine"),
    ("2100", "two thousand one hundred"),
    ("1,984", "one thousand nine hundred eighty four"),
    ("-1984", "minus one thousand nine hundred eighty four"),
    ("from 1990 to 2010", "from nineteen ninety to twenty ten"),
    # decades
    ("the 1990s", "the nineteen nineties"),
    ("the 1980's", "the nineteen eighties"),
    ("the ’80s", "the eighties"),
    ("the 1900s", "the nineteen hundreds"),
    ("in her 20s", "in her twenties"),
    # currency
    ("$5", "five dollars"),
    ("$1", "one dollar"),
    ("$3.50", "three dollars fifty cents"),
    ("$1.01", "one dollar one cent"),
    ("$0.50", "fifty cents"),
    ("$3.00", "three dollars"),
    ("$1,500", "one thousand five hundred dollars"),
    ("$2.5 million", "two point five million dollars"),
    ("$1.005", "one point zero zero five dollars"),
    ("-$5", "minus five dollars"),
    ("£1", "one pound"),
    ("£3.50", "three pounds fifty pence"),
    ("£0.01", "one penny"),
    ("€1", "one euro"),
    ("€20", "twenty euros"),
    ("€2.05", "two euros five cents"),
    ("5€", "five euros"),
    ("€5,00", "five euros"),
    ("5,50 €", "five euros fifty cents"),
    # percent
    ("50%", "fifty percent"),
    ("2.5 %", "two point five percent"),
    # times
    ("7:30", "seven thirty"),
    ("7:05", "seven oh five"),
    ("7:00", "seven o'clock"),
    ("12:00", "twelve o'clock"),
    ("07:45", "seven forty five"),
    ("23:15", "twenty three fifteen"),
    ("7:30am", "seven thirty a m"),
    ("7:30 p.m.", "seven thirty p m"),
    ("7:00 pm", "seven p m"),
    ("7pm", "seven p m"),
    ("7 a.m.", "seven a m"),
    ("25:30", "twenty five thirty"),
    ("7:30:15", "seven thirty fifteen"),
    # ampersand and plus
    ("rock & roll", "rock and roll"),
    ("AT&T", "at and t"),
    ("2+2", "two plus two"),
    ("2 + 2", "two plus two"),
    ("1.5+2.5", "one point five plus two point five"),
    ("call +44", "call forty four"),
    ("c++", "c"),
    # digits glued to letters
    ("mp3", "mp three"),
    ("4g", "four g"),
    ("3D audio", "three d audio"),
    ("a1b2", "a one b two"),
    ("20km", "twenty km"),
    ("IAX2", "iax two"),
    ("H.323", "h three hundred twenty three"),
    ("mp3s", "mp threes"),
    # vulgar fractions, superscripts, subscripts
    ("½", "one half"),
    ("3½ cups", "three and a half cups"),
    ("2¾", "two and three quarters"),
    ("⅞", "seven eighths"),
    ("10²", "ten two"),
    ("H₂O", "h two o"),
    # abbreviations
    ("Mr. Smith", "mister smith"),
    ("Mr Smith", "mister smith"),
    ("Mrs. Smith", "missus smith"),
    ("Ms. Smith", "miss smith"),
    ("Dr. Smith", "doctor smith"),
    ("Dr.Smith", "doctor smith"),
    ("MS Word", "ms word"),
    ("St. Paul", "st paul"),
    # hyphens, slashes and underscores become spaces
    ("well-known", "well known"),
    ("and/or", "and or"),
    ("snake_case", "snake case"),
    ("pages 5-10", "pages five ten"),
    ("long—dash", "long dash"),
    # other punctuation is dropped, never gluing words together
    ("Hello, world!", "hello world"),
    ("What?!", "what"),
    ("U.S.A.", "u s a"),
    ("hello,world", "hello world"),
    ("#1 @home", "one home"),
    ("(a) [b] {c}", "a b c"),
    ("“quoted”", "quoted"),
    ("wait...", "wait"),
    ("smile 😀", "smile"),
    ("soft\u00adhyphen", "softhyphen"),
    # apostrophes: kept inside words, stripped at word edges
    ("don't", "don't"),
    ("o'clock", "o'clock"),
    ("O'Brien's", "o'brien's"),
    ("'hello'", "hello"),
    ("‘hello’", "hello"),
    ("the dogs' bowls", "the dogs bowls"),
    ("rock 'n' roll", "rock n roll"),
    ("''", ""),
    # whitespace
    ("  lots \t of\n\nspace  ", "lots of space"),
    ("", ""),
    # other scripts stay in place
    ("東京", "東京"),
    ("Москва", "москва"),
    ("नमस्ते", "नमस्ते"),
    ("ζ\u0301", "ζ\u0301"),
    ("北京 is 20km away", "北京 is twenty km away"),
    ("Ελλάδα", "ελλάδα"),
    ("٣ apples", "٣ apples"),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_normalize_english(text: str, expected: str) -> None:
    assert normalize_english(text) == expected


SENTENCES = [
    "Mr. O’Brien paid $3.50 at 7:05 — café & croissant!",
    "In 1984, 50% of the 22nd-floor mp3s cost €1.",
    "Dr. Smith earned $1,000,000 in 2010-2012.",
    "Call 007 on 3.14 +1 4G, or dial 1234 then #.",
    "It's 7:00 p.m. on the 1st of May; the 1990s were 'fun'.",
    "Straße, naïve, Øresund & Łódź: 2+2 = 4, 3½ cups, 10² m².",
    "The U.S.A. won 5-3 (after a 0.5 s delay) — “amazing”, said Mrs. Jones.",
    "Snake_case/kebab-case `quoted` words ‘here’, and rock 'n' roll.",
    "12345678901234567890 digits and -42 degrees at 23:59 on 2026-01-01.",
    "£3.50 or 5,50 € or $2.5 million — who knows?",
    "Ｆｕｌｌ　ｗｉｄｔｈ ＡＢＣ１２３ and the ﬁnal oﬃce.",
    "It cost $.50 at 12:00am, in the '80s, for 1,000th time!!!",
    "don't, can't, won't, o'clock, rock'n'roll, dogs', 'tis",
]

NON_LATIN_SENTENCES = [
    "北京 is 20km away",
    "Москва 2026",
    "नमस्ते 3 दोस्त",
    "٣ apples and 4 pears",
]


@pytest.mark.parametrize("text", SENTENCES + NON_LATIN_SENTENCES + [c[0] for c in CASES])
def test_idempotent(text: str) -> None:
    once = normalize_english(text)
    assert normalize_english(once) == once


_FUZZ_PIECES = list("abXY 0123456789.,:;-+$£€%&'’`\"/_()!?#@ ²½éßİ\u0301\t") + [
    "mr.", "Ms.", "dr", " am", "p.m.", "st", "th", "s", "1,000", "12:30", "3.5", "'s",
]


def test_random_strings_idempotent_and_in_vocabulary() -> None:
    rng = random.Random(1234)
    for _ in range(3000):
        text = "".join(rng.choice(_FUZZ_PIECES) for _ in range(rng.randint(1, 12)))
        out = normalize_english(text)
        assert set(out) <= ALLOWED, (text, out)
        assert normalize_english(out) == out, (text, out)


@pytest.mark.parametrize("text", SENTENCES)
def test_output_characters(text: str) -> None:
    out = normalize_english(text)
    assert set(out) <= ALLOWED, sorted(set(out) - ALLOWED)
    assert out == " ".join(out.split())
    assert not re.search(r"(^|\s)'|'(\s|$)", out)


def _has_non_latin(text: str) -> bool:
    """True when ``text`` holds letters or digits that do not fold to ASCII."""
    folded = fold_to_ascii(unicodedata.normalize("NFKC", text))
    return any(not char.isascii() and char.isalnum() for char in folded)


def test_case_outputs_only_use_vocabulary() -> None:
    for text, _ in CASES:
        if _has_non_latin(text):
            continue
        out = normalize_english(text)
        assert set(out) <= ALLOWED, (text, out)


@pytest.mark.parametrize("text", NON_LATIN_SENTENCES)
def test_non_latin_letters_kept(text: str) -> None:
    out = normalize_english(text)
    kept = [c for c in unicodedata.normalize("NFC", text) if c.isalpha() and not c.isascii()]
    assert all(c.lower() in out for c in kept)
    assert not re.search(r"[0-9]", out)


def test_output_characters_constant() -> None:
    assert set(OUTPUT_CHARACTERS) == ALLOWED


def _prompts_file() -> Path | None:
    return next((path for path in _PROMPTS_CANDIDATES if path.is_file()), None)


def test_asterisk_prompts_with_digits() -> None:
    path = _prompts_file()
    if path is None:
        pytest.skip("shared/data/asterisk-prompts/prompts.tsv not found; prompt check skipped")
    with path.open(encoding="utf-8", newline="") as handle:
        texts = [row["text"] for row in csv.DictReader(handle, delimiter="\t")]
    with_digits = [text for text in texts if re.search(r"[0-9]", text)]
    assert len(with_digits) >= 20
    for text in with_digits:
        out = normalize_english(text)
        assert out, text
        assert set(out) <= ALLOWED, (text, out)
        assert normalize_english(out) == out


@pytest.mark.parametrize("module", [normalize_module, numbers_module])
def test_docstring_examples(module: object) -> None:
    result = doctest.testmod(module, verbose=False)
    assert result.failed == 0
