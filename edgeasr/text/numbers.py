"""Spell out numbers as English words for CTC transcripts.

Two layers live here:

* pure converters from ``int`` (or a digit string) to words:
  :func:`number_to_words`, :func:`ordinal_to_words`, :func:`year_to_words`
  and :func:`digits_to_words`;
* :func:`expand_numbers`, which finds numbers in lower-cased text (money,
  clock times, ordinals, decades, decimals, plain integers) and replaces them
  with words. It is used by :func:`edgeasr.text.normalize.normalize_english`.

Words are written the way they are spoken in plain American style, without
"and" or hyphens, so that the output needs nothing beyond the letters, space
and apostrophe of the model's vocabulary:

>>> number_to_words(1_000_042)
'one million forty two'
>>> ordinal_to_words(103)
'one hundred third'
>>> year_to_words(1905)
'nineteen oh five'
>>> expand_numbers("$3.50 at 7:05 on the 22nd")
' three dollars fifty cents  at  seven oh five  on the  twenty second '
"""

from __future__ import annotations

import re
from typing import Callable

__all__ = [
    "MAX_SPELLED_DIGITS",
    "digits_to_words",
    "expand_numbers",
    "fraction_to_words",
    "number_to_words",
    "ordinal_to_words",
    "year_to_words",
]

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve "
    "thirteen fourteen fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = "_ thousand million billion trillion quadrillion quintillion sextillion".split()
_IRREGULAR_ORDINALS = {
    "one": "first", "two": "second", "three": "third", "five": "fifth",
    "eight": "eighth", "nine": "ninth", "twelve": "twelfth",
}

#: In running text, digit strings longer than this are read digit by digit,
#: so 10**18 - 1 is the largest number spelled as a whole there.
MAX_SPELLED_DIGITS = 18


def _check_int(n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"expected an int, got {type(n).__name__}")


def _below_hundred(n: int) -> str:
    if n < 20:
        return _ONES[n]
    tens, ones = divmod(n, 10)
    return _TENS[tens] + (" " + _ONES[ones] if ones else "")


def _below_thousand(n: int) -> str:
    hundreds, rest = divmod(n, 100)
    if not hundreds:
        return _below_hundred(rest)
    head = _ONES[hundreds] + " hundred"
    return head + (" " + _below_hundred(rest) if rest else "")


def number_to_words(n: int) -> str:
    """Spell an integer as cardinal words, without "and" or hyphens.

    >>> number_to_words(0)
    'zero'
    >>> number_to_words(-3)
    'minus three'
    >>> number_to_words(1_000_000)
    'one million'
    >>> number_to_words(10**15 + 7)
    'one quadrillion seven'

    Raises ``ValueError`` from 10**24 upwards (no scale word past sextillion).
    """
    _check_int(n)
    if n < 0:
        return "minus " + number_to_words(-n)
    if n >= 1000 ** len(_SCALES):
        raise ValueError(f"{n} is too large to spell out")
    if n < 1000:
        return _below_thousand(n)
    groups = []
    for scale in _SCALES:
        n, chunk = divmod(n, 1000)
        if chunk:
            groups.append(_below_thousand(chunk) + ("" if scale == "_" else " " + scale))
        if not n:
            break
    return " ".join(reversed(groups))


def _ordinal_word(word: str) -> str:
    if word in _IRREGULAR_ORDINALS:
        return _IRREGULAR_ORDINALS[word]
    if word.endswith("y"):
        return word[:-1] + "ieth"
    return word + "th"


def ordinal_to_words(n: int) -> str:
    """Spell an integer as ordinal words.

    >>> ordinal_to_words(1)
    'first'
    >>> ordinal_to_words(22)
    'twenty second'
    >>> ordinal_to_words(40)
    'fortieth'
    >>> ordinal_to_words(1_000_000)
    'one millionth'
    """
    head, _, last = number_to_words(n).rpartition(" ")
    return (head + " " if head else "") + _ordinal_word(last)


def year_to_words(n: int) -> str:
    """Read 1100-2099 the way years are spoken; other values as cardinals.

    >>> year_to_words(1984)
    'nineteen eighty four'
    >>> year_to_words(1900)
    'nineteen hundred'
    >>> year_to_words(2005)
    'two thousand five'
    >>> year_to_words(2026)
    'twenty twenty six'
    """
    _check_int(n)
    if not 1100 <= n <= 2099 or 2000 <= n <= 2009:
        return number_to_words(n)
    century, rest = divmod(n, 100)
    head = _below_hundred(century)
    if rest == 0:
        return head + " hundred"
    if rest < 10:
        return f"{head} oh {_ONES[rest]}"
    return f"{head} {_below_hundred(rest)}"


def fraction_to_words(numerator: int, denominator: int) -> str:
    """Spell a common fraction.

    >>> fraction_to_words(1, 2)
    'one half'
    >>> fraction_to_words(3, 4)
    'three quarters'
    >>> fraction_to_words(2, 3)
    'two thirds'
    """
    one = numerator == 1
    if denominator == 2:
        unit = "half" if one else "halves"
    elif denominator == 4:
        unit = "quarter" if one else "quarters"
    else:
        unit = ordinal_to_words(denominator) + ("" if one else "s")
    return f"{number_to_words(numerator)} {unit}"


def digits_to_words(digits: str) -> str:
    """Read a string of ASCII digits one digit at a time.

    >>> digits_to_words("007")
    'zero zero seven'
    """
    return " ".join(_ONES[int(d)] for d in digits)


def _integer_words(digits: str, years: bool = False) -> str:
    """Words for a run of digits as it stands in running text."""
    if (len(digits) > 1 and digits[0] == "0") or len(digits) > MAX_SPELLED_DIGITS:
        return digits_to_words(digits)
    if years and len(digits) == 4:
        return year_to_words(int(digits))
    return number_to_words(int(digits))


def _pluralize_last(words: str) -> str:
    head, _, last = words.rpartition(" ")
    if last.endswith("y"):
        last = last[:-1] + "ies"
    elif last.endswith("x"):
        last += "es"
    else:
        last += "s"
    return (head + " " if head else "") + last


# --- finding numbers in text -------------------------------------------------
# Every pattern works on lower-cased text and uses ASCII digits only, so
# digits of other scripts are left alone. Replacements are padded with spaces;
# the caller collapses whitespace.

_INT = r"(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)"
_SIGN = r"(?:(?<![\w.,-])(?P<sign>-))?"
_NOT_MORE = r"(?![0-9]|[.,][0-9])"
_CURRENCIES = {
    "$": ("dollar", "dollars", "cent", "cents"),
    "£": ("pound", "pounds", "penny", "pence"),
    "€": ("euro", "euros", "cent", "cents"),
}
# "3.50", or "3,50" as written in much of Europe (exactly two digits).
_CENTS = r"(?:\.(?P<frac>[0-9]+)|,(?P<comma_frac>[0-9]{2})(?![0-9]))?"
_SCALE_WORDS = r"(?:\s+(?P<scale>thousand|million|billion|trillion)(?![a-z]))?"
_CURRENCY_PREFIX_RE = re.compile(
    _SIGN + r"(?<![0-9])(?<![0-9]\s)(?P<sym>[$£€])\s?(?P<int>" + _INT + r")"
    + _CENTS + _NOT_MORE + _SCALE_WORDS
)
_CURRENCY_SUFFIX_RE = re.compile(
    _SIGN + r"(?<![0-9.])(?P<int>" + _INT + r")" + _CENTS + _NOT_MORE
    + r"\s?(?P<sym>[$£€])"
)
_MERIDIEM = r"(?:\s?(?P<ampm>[ap])\.?m(?![a-z])\.?)"
_TIME_RE = re.compile(
    r"(?<![0-9.,:])(?P<hour>[01]?[0-9]|2[0-4]):(?P<minute>[0-5][0-9])(?![0-9]|:[0-9])"
    + _MERIDIEM + "?"
)
_HOUR_RE = re.compile(r"(?<![0-9.,:])(?P<hour>[0-9]{1,2})" + _MERIDIEM)
_ORDINAL_RE = re.compile(r"(?<![0-9.])(?P<int>" + _INT + r")(?:st|nd|rd|th)(?![a-z0-9])")
_PLURAL_RE = re.compile(r"(?<![0-9.])'?(?P<int>[0-9]+)'?s(?![a-z0-9'])")
_DECIMAL_RE = re.compile(
    _SIGN + r"(?<![0-9.])(?P<int>" + _INT + r")\.(?P<frac>[0-9]+)" + _NOT_MORE
)
_BARE_DECIMAL_RE = re.compile(r"(?<![\w.])\.(?P<frac>[0-9]+)" + _NOT_MORE)
_GROUPED_RE = re.compile(_SIGN + r"(?<![0-9.,])(?P<int>[0-9]{1,3}(?:,[0-9]{3})+)" + _NOT_MORE)
_PLUS_RE = re.compile(r"(?<=[0-9])(?:\+|\s+\+\s+)(?=[0-9])")
_GLUED_RE = re.compile(r"(?<=[^\W\d_])(?=[0-9])|(?<=[0-9])(?=[^\W\d_])")
_INTEGER_RE = re.compile(_SIGN + r"(?P<int>[0-9]+)")


def _minus(match: re.Match[str]) -> str:
    return "minus " if match.group("sign") else ""


def _cardinal(digits: str) -> str:
    """Cardinal words for an amount that may carry commas or leading zeros."""
    digits = digits.replace(",", "")
    if len(digits) > MAX_SPELLED_DIGITS:
        return digits_to_words(digits)
    return number_to_words(int(digits))


def _money(match: re.Match[str]) -> str:
    one, many, cent, cents = _CURRENCIES[match.group("sym")]
    whole = match.group("int").replace(",", "")
    frac = match.group("frac") or match.group("comma_frac")
    scale = match.groupdict().get("scale")
    if scale or (frac and len(frac) > 2):
        amount = _cardinal(whole) + (" point " + digits_to_words(frac) if frac else "")
        words = f"{amount} {scale} {many}" if scale else f"{amount} {many}"
    else:
        major, minor = int(whole), int((frac or "0").ljust(2, "0"))
        parts = []
        if major or not minor:
            parts.append(f"{_cardinal(whole)} {one if major == 1 else many}")
        if minor:
            parts.append(f"{number_to_words(minor)} {cent if minor == 1 else cents}")
        words = " ".join(parts)
    return f" {_minus(match)}{words} "


def _meridiem(match: re.Match[str]) -> str:
    ampm = match.group("ampm")
    return f" {ampm} m" if ampm else ""


def _time(match: re.Match[str]) -> str:
    hour, minute = int(match.group("hour")), int(match.group("minute"))
    if minute == 0:
        tail = "" if match.group("ampm") else " o'clock"
    elif minute < 10:
        tail = " oh " + _ONES[minute]
    else:
        tail = " " + number_to_words(minute)
    return f" {number_to_words(hour)}{tail}{_meridiem(match)} "


def _hour(match: re.Match[str]) -> str:
    hour = int(match.group("hour"))
    if not 1 <= hour <= 12:
        return match.group(0)
    return f" {number_to_words(hour)}{_meridiem(match)} "


def _ordinal(match: re.Match[str]) -> str:
    digits = match.group("int").replace(",", "")
    if len(digits) > MAX_SPELLED_DIGITS:
        return match.group(0)
    return f" {ordinal_to_words(int(digits))} "


def _plural(match: re.Match[str]) -> str:
    return f" {_pluralize_last(_integer_words(match.group('int'), years=True))} "


def _decimal(match: re.Match[str]) -> str:
    frac = digits_to_words(match.group("frac"))
    return f" {_minus(match)}{_cardinal(match.group('int'))} point {frac} "


def _bare_decimal(match: re.Match[str]) -> str:
    return f" point {digits_to_words(match.group('frac'))} "


def _grouped(match: re.Match[str]) -> str:
    return f" {_minus(match)}{_cardinal(match.group('int'))} "


def _integer(match: re.Match[str]) -> str:
    return f" {_minus(match)}{_integer_words(match.group('int'), years=not match.group('sign'))} "


_PASSES: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str] | str], ...] = (
    (_PLUS_RE, " plus "),
    (_CURRENCY_PREFIX_RE, _money),
    (_CURRENCY_SUFFIX_RE, _money),
    (_TIME_RE, _time),
    (_HOUR_RE, _hour),
    (_ORDINAL_RE, _ordinal),
    (_PLURAL_RE, _plural),
    (_DECIMAL_RE, _decimal),
    (_BARE_DECIMAL_RE, _bare_decimal),
    (_GROUPED_RE, _grouped),
    (_GLUED_RE, " "),
    (_INTEGER_RE, _integer),
)


def expand_numbers(text: str) -> str:
    """Replace every run of ASCII digits in lower-cased ``text`` with words.

    Passes run from the most specific pattern to the least: "+" between
    numbers, money, clock times, "7pm", ordinals, decades ("1990s"),
    decimals, comma-grouped integers, digits glued to letters, then any
    integer left (4-digit 1100-2099 read as years, leading zeros and runs of
    more than ``MAX_SPELLED_DIGITS`` read digit by digit). Replacements are
    padded with spaces and whitespace is not collapsed.

    >>> " ".join(expand_numbers("mp3 in the 1990s cost -$1").split())
    'mp three in the nineteen nineties cost minus one dollar'
    """
    for pattern, replacement in _PASSES:
        text = pattern.sub(replacement, text)
    return text
