"""Spell out numbers as French words for CTC transcripts.

Words follow the traditional spelling (``soixante et onze``, ``quatre vingts``, ``deux
cents``, ``mille``) with spaces where the spelling has hyphens: the normaliser turns hyphens
into spaces anyway (``dix-sept`` -> ``dix sept``), so written and spelled numbers agree.

>>> number_to_french(71)
'soixante et onze'
>>> number_to_french(280)
'deux cent quatre vingts'
>>> number_to_french(2_000_001)
'deux millions un'
>>> ordinal_to_french(21)
'vingt et unième'
>>> expand_french_numbers("appuyez sur 3, le 1er mai à 14h30")
'appuyez sur  trois , le  premier  mai à  quatorze heures trente '
"""

from __future__ import annotations

import re

__all__ = ["MAX_SPELLED_DIGITS", "expand_french_numbers", "number_to_french", "ordinal_to_french"]

_UNITS = ("zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix",
          "onze", "douze", "treize", "quatorze", "quinze", "seize")
_TENS = {2: "vingt", 3: "trente", 4: "quarante", 5: "cinquante", 6: "soixante"}
# (value, singular, plural) of the scales written as nouns: they take "un" and a plural s.
_NOUN_SCALES = ((10**9, "milliard", "milliards"), (10**6, "million", "millions"))

#: Digit strings longer than this are read digit by digit.
MAX_SPELLED_DIGITS = 12


def _below_hundred(n: int) -> str:
    """0..99; ``vingt`` of 80 takes no s here (the caller adds it where it ends a number)."""
    if n <= 16:
        return _UNITS[n]
    if n < 20:
        return "dix " + _UNITS[n - 10]
    tens, ones = divmod(n, 10)
    if tens in (7, 9):  # soixante dix.., quatre vingt dix..
        head = "soixante" if tens == 7 else "quatre vingt"
        rest = 10 + ones
        joiner = " et " if tens == 7 and ones == 1 else " "
        return head + joiner + _below_hundred(rest)
    head = "quatre vingt" if tens == 8 else _TENS[tens]
    if ones == 0:
        return head
    joiner = " et " if ones == 1 and tens != 8 else " "
    return head + joiner + _UNITS[ones]


def _below_thousand(n: int, final: bool) -> str:
    """0..999; ``final``: nothing but a noun scale follows, so ``cents``/``vingts`` take an s."""
    hundreds, rest = divmod(n, 100)
    words = []
    if hundreds:
        words.append("cent" if hundreds == 1 else _UNITS[hundreds] + " cent")
    if rest:
        words.append(_below_hundred(rest))
    text = " ".join(words)
    if final and text.endswith((" cent", "quatre vingt")):
        text += "s"
    return text


def number_to_french(n: int) -> str:
    """Spell a non-negative integer below 10**12 as French cardinal words.

    Raises:
        ValueError: for a negative number or one of 10**12 or more.
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"expected an int, got {type(n).__name__}")
    if n < 0 or n >= 10**12:
        raise ValueError(f"{n} is outside 0..10**12 - 1")
    if n < 1000:
        return _below_thousand(n, final=True) if n else _UNITS[0]
    words = []
    for value, singular, plural in _NOUN_SCALES:
        count, n = divmod(n, value)
        if count:
            words.append(f"{_below_thousand(count, final=True)} {plural if count > 1 else singular}")
    thousands, n = divmod(n, 1000)
    if thousands:
        # "mille" is invariable and takes no "un"; the number before it keeps no plural s.
        words.append("mille" if thousands == 1 else _below_thousand(thousands, final=False) + " mille")
    if n:
        words.append(_below_thousand(n, final=True))
    return " ".join(words)


def ordinal_to_french(n: int) -> str:
    """``1`` -> ``premier``, ``5`` -> ``cinquième``, ``80`` -> ``quatre vingtième``."""
    if n == 1:
        return "premier"
    words = number_to_french(n)
    if words.endswith(("cents", "vingts", "millions", "milliards")):
        words = words[:-1]
    if words == "million" or words == "milliard":
        words = "un " + words
    if words.endswith("cinq"):
        return words + "uième"
    if words.endswith("neuf"):
        return words[:-1] + "vième"
    return words.removesuffix("e") + "ième"


def _digits(text: str) -> str:
    return " ".join(_UNITS[int(d)] for d in text)


def _cardinal(digits: str) -> str:
    """A digit string as words: whole if it is short and has no leading zero."""
    if len(digits) > MAX_SPELLED_DIGITS or (len(digits) > 1 and digits.startswith("0")):
        return _digits(digits)
    return number_to_french(int(digits))


def _time(match: re.Match) -> str:
    hours, minutes = int(match.group(1)), match.group(2) or match.group(3)
    spoken = "une" if hours == 1 else ("vingt et une" if hours == 21 else number_to_french(hours))
    words = f" {spoken} {'heure' if hours <= 1 else 'heures'}"
    if minutes and int(minutes):
        words += " " + number_to_french(int(minutes))
    return words + " "


def _decimal(match: re.Match) -> str:
    whole, separator, fraction = match.groups()
    word = "virgule" if separator == "," else "point"
    return f" {_cardinal(whole)} {word} {_cardinal(fraction)} "


def _ordinal(match: re.Match) -> str:
    number = int(match.group(1))
    suffix = match.group(2)
    if number == 1 and suffix in ("re", "ère", "ere"):
        return " première "
    return f" {ordinal_to_french(number)} "


# Thousands grouped with a (narrow) no-break space: "10 000", "1 234 567".
_GROUPED = re.compile(r"(?<![\d])(\d{1,3}(?:[\u00a0\u202f]\d{3})+)(?![\d])")
_TIME = re.compile(r"(?<![\d])([01]?\d|2[0-3])(?:\s?h\s?([0-5]\d)?|:([0-5]\d))(?![\w])")
_ORDINAL = re.compile(r"(?<![\d])(\d+)(er|re|ère|ere|ème|eme|e|è)(?![\w])")
_DECIMAL = re.compile(r"(?<![\d])(\d+)([,.])(\d+)(?![\d])")
_INTEGER = re.compile(r"\d+")


def expand_french_numbers(text: str) -> str:
    """Replace numbers in lower-cased text with French words (each padded with spaces).

    Handles, in order: thousands grouped by no-break spaces, clock times (``14h30``,
    ``8h``, ``14:30``), ordinals (``1er``, ``1re``, ``2e``, ``3ème``), decimals (``3,5`` ->
    ``virgule``, ``3.5`` -> ``point``) and plain integers; a leading zero or more than
    :data:`MAX_SPELLED_DIGITS` digits is read digit by digit.
    """
    text = _GROUPED.sub(lambda m: re.sub(r"[\u00a0\u202f]", "", m.group(1)), text)
    text = _TIME.sub(_time, text)
    text = _ORDINAL.sub(_ordinal, text)
    text = _DECIMAL.sub(_decimal, text)
    return _INTEGER.sub(lambda m: f" {_cardinal(m.group(0))} ", text)
