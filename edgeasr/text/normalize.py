"""English text normalisation for CTC training transcripts and scoring.

The same function cleans training transcripts, evaluation references and
recogniser output, so that all three land in the model's character
vocabulary (space, ``a``-``z`` and the apostrophe) and compare fairly.

>>> normalize_english("Mr. O’Brien paid $3.50 at 7:05 — café & croissant!")
"mister o'brien paid three dollars fifty cents at seven oh five cafe and croissant"
>>> normalize_english("In 1984, 50% of the 22nd-floor mp3s cost €1.")
'in nineteen eighty four fifty percent of the twenty second floor mp threes cost one euro'

Rules, applied in this order:

1. Apostrophe look-alikes (’ ‘ ‛ ʼ ʻ ` ´ ′) become ``'`` and the minus sign
   ``−`` becomes ``-``. Vulgar fractions are spelled (``3½`` -> ``3 and a
   half``, ``¾`` -> ``three quarters``) and superscript, subscript and
   circled digits are set apart (``10²`` -> ``10 2``). Then Unicode NFKC
   (full-width forms, ligatures).
2. Latin letters fold to ASCII (``é`` -> ``e``, ``ß`` -> ``ss``, ``æ`` ->
   ``ae``); letters of other scripts are kept as they are so that the
   vocabulary encoder can report them; stray accents are dropped. Then
   lower case.
3. ``ms.`` (with its full stop, not after a number) becomes ``miss``.
4. ``&`` -> ``and``, ``%`` -> ``percent``.
5. Numbers become words; see :func:`edgeasr.text.numbers.expand_numbers`.
6. Punctuation and symbols are removed (replaced by a space, so that
   ``a/b``, ``a-b``, ``a_b`` and ``u.s.`` never merge into one word), except
   the apostrophe; invisible format characters are deleted.
7. Apostrophes at the start or end of a word are stripped (``'hello'`` ->
   ``hello``, ``dogs'`` -> ``dogs``); inside words they stay (``don't``).
8. The words ``mr``, ``mrs`` and ``dr`` (their full stop is gone by now)
   become ``mister``, ``missus`` and ``doctor`` (``dr's`` -> ``doctor's``).
9. Whitespace collapses to single spaces, trimmed at both ends.

The result is idempotent: ``normalize_english(normalize_english(x)) ==
normalize_english(x)``.
"""

from __future__ import annotations

import re
import unicodedata

from edgeasr.text.numbers import (
    expand_numbers,
    fraction_to_words,
    number_to_words,
    ordinal_to_words,
)

__all__ = [
    "OUTPUT_CHARACTERS",
    "fold_to_ascii",
    "normalize_english",
    "number_to_words",
    "ordinal_to_words",
]

#: Every character ``normalize_english`` emits for Latin-script input.
OUTPUT_CHARACTERS = " abcdefghijklmnopqrstuvwxyz'"

_CHARACTER_MAP = str.maketrans(
    {
        "\u2019": "'", "\u2018": "'", "\u201b": "'", "\u02bc": "'", "\u02bb": "'",
        "`": "'", "\u00b4": "'", "\u2032": "'", "\u2212": "-",
    }
)
# Latin letters with no Unicode decomposition into ASCII.
_LATIN_EXTRAS = {
    "ß": "ss", "ẞ": "SS", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE",
    "ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "ð": "d", "Ð": "D",
    "þ": "th", "Þ": "TH", "ł": "l", "Ł": "L", "ı": "i", "ħ": "h", "Ħ": "H",
    "ŀ": "l", "Ŀ": "L", "ŧ": "t", "Ŧ": "T", "ŋ": "ng", "Ŋ": "NG", "ĸ": "k",
}
# Unicode blocks of combining diacritical marks not tied to one script.
_GENERIC_ACCENT_RANGES = (
    ("\u0300", "\u036f"), ("\u1ab0", "\u1aff"), ("\u1dc0", "\u1dff"),
    ("\u20d0", "\u20ff"), ("\ufe20", "\ufe2f"),
)
# Titles expanded as whole words (after punctuation is gone, so "Dr.", "dr"
# and "(Dr)" all match and a second pass finds nothing left to expand).
_TITLES = {"mr": "mister", "mrs": "missus", "dr": "doctor"}
_TITLE_RE = re.compile(r"^(mrs|mr|dr)((?:'s)?)$")
# "ms" only with its full stop (bare "ms" is also milliseconds, Microsoft,
# ...) and not right after a number ("5 ms.").
_MS_RE = re.compile(r"(?<![0-9]\s)\bms\.")
_SYMBOL_WORDS = str.maketrans({"&": " and ", "%": " percent "})


def _number_symbol(char: str, after_digit: bool) -> str:
    """Words or padded digits for a character such as ``½``, ``²`` or ``①``."""
    expanded = unicodedata.normalize("NFKC", char)
    numerator, slash, denominator = expanded.partition("\u2044")
    if not (slash and numerator.isdigit() and denominator.isdigit()):
        return f" {expanded} "
    words = fraction_to_words(int(numerator), int(denominator))
    if after_digit:
        words = "and " + (words.replace("one", "a", 1) if numerator == "1" else words)
    return f" {words} "


def _isolate_number_symbols(text: str) -> str:
    """Spell vulgar fractions and pad superscript, subscript and circled digits.

    NFKC alone would glue them to their neighbours ("3½" -> "31⁄2").

    >>> _isolate_number_symbols("3½ cups, 10² m²")
    '3 and a half  cups, 10 2  m 2 '
    """
    if text.isascii():
        return text
    out = []
    for i, char in enumerate(text):
        if char.isascii() or unicodedata.category(char) != "No":
            out.append(char)
        else:
            out.append(_number_symbol(char, after_digit=i > 0 and text[i - 1].isdigit()))
    return "".join(out)


def _is_generic_accent(char: str) -> bool:
    """True for the combining diacritics shared by all scripts (U+0300-U+036F...)."""
    return any(low <= char <= high for low, high in _GENERIC_ACCENT_RANGES)


def _is_other_script(char: str) -> bool:
    """True for a non-ASCII letter, digit or mark (what folding leaves alone)."""
    return not char.isascii() and unicodedata.category(char)[0] in "LMN"


def _fold_char(char: str, previous: str) -> str:
    """ASCII spelling of one Latin character, or the character unchanged."""
    if char.isascii():
        return char
    if char in _LATIN_EXTRAS:
        return _LATIN_EXTRAS[char]
    if _is_generic_accent(char):
        # An accent NFKC could not compose: keep it on another script's letter,
        # drop it elsewhere. Script-specific marks (Devanagari vowel signs)
        # fall through and are kept.
        return char if _is_other_script(previous) else ""
    decomposed = unicodedata.normalize("NFD", char)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return stripped if stripped and stripped.isascii() else char


def fold_to_ascii(text: str) -> str:
    """Fold accented Latin letters to ASCII; leave other scripts alone.

    >>> fold_to_ascii("Crème Brûlée, Straße, 東京")
    'Creme Brulee, Strasse, 東京'
    """
    out: list[str] = []
    previous = " "
    for char in text:
        folded = _fold_char(char, previous)
        out.append(folded)
        previous = folded[-1:] or previous
    return "".join(out)


def _expand_title(word: str) -> str:
    """``mr`` -> ``mister``, ``dr's`` -> ``doctor's``; other words unchanged."""
    match = _TITLE_RE.match(word)
    return _TITLES[match.group(1)] + match.group(2) if match else word


def _space_or_drop(char: str) -> str:
    """Replacement for one character in the punctuation pass."""
    if char == "'":
        return char
    category = unicodedata.category(char)
    if category == "Cf":
        return ""
    if category[0] in "PSZ" or category == "Cc":
        return " "
    return char


def remove_punctuation(text: str) -> str:
    """Punctuation, symbols and separators -> spaces; apostrophes kept; format chars dropped."""
    return "".join(char if char.isalnum() else _space_or_drop(char) for char in text)


def _finish_words(text: str) -> str:
    """Strip apostrophes at word edges, expand titles, collapse whitespace."""
    words = (_expand_title(word.strip("'")) for word in text.split())
    return " ".join(word for word in words if word)


def normalize_english(text: str) -> str:
    """Normalise English text to the CTC character vocabulary.

    >>> normalize_english("Don't say 'hello' at 7:00!")
    "don't say hello at seven o'clock"
    >>> normalize_english("Dr. Smith earned $1,000,000 in 2010-2012.")
    'doctor smith earned one million dollars in twenty ten twenty twelve'
    >>> normalize_english("Call 007 on 3.14 +1 4G")
    'call zero zero seven on three point one four one four g'
    >>> normalize_english("北京 is 20km away")
    '北京 is twenty km away'
    """
    text = _isolate_number_symbols(text.translate(_CHARACTER_MAP))
    text = unicodedata.normalize("NFKC", text)
    text = fold_to_ascii(text).lower()
    text = _MS_RE.sub(" miss ", text)
    text = expand_numbers(text.translate(_SYMBOL_WORDS))
    text = remove_punctuation(text)
    return _finish_words(text)
