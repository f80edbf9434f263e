"""French text normalisation for CTC training transcripts and scoring.

The French counterpart of :func:`edgeasr.text.normalize.normalize_english`: its output lies
in :meth:`edgeasr_device.vocab.Vocabulary.french` (space, ``a``-``z``, the apostrophe and the
accented letters of French), so accents are kept (``é`` stays ``é``) and so are elisions
(``l'heure``, ``aujourd'hui``).

>>> normalize_french("Échec à l’ouverture de session. Appuyez sur 2, puis dièse !")
"échec à l'ouverture de session appuyez sur deux puis dièse"
>>> normalize_french("Le 1er mai à 14h30 : 50 % de 2000 €")
'le premier mai à quatorze heures trente cinquante pour cent de deux mille euros'

Rules, in this order:

1. Apostrophe look-alikes (’ ‘ ʼ ´ `) become ``'``; thousands grouped by no-break spaces
   are joined (``1 000`` -> ``1000``); Unicode NFKC (ligatures such as ``ﬁ``, full-width
   forms; ``œ`` and ``æ`` are letters of the vocabulary and stay); lower case.
2. Annotations in square brackets (``[rires]``) are removed.
3. ``&`` -> ``et``, ``%`` -> ``pour cent``, ``€`` -> ``euros``, ``+`` -> ``plus``.
4. Numbers become words (:func:`edgeasr.text.numbers_fr.expand_french_numbers`).
5. Punctuation and symbols become spaces (hyphens too: ``dix-sept`` -> ``dix sept``),
   except the apostrophe; invisible format characters are deleted.
6. Apostrophes at the start or end of a word are stripped; whitespace collapses.

Idempotent: ``normalize_french(normalize_french(x)) == normalize_french(x)``.

:func:`is_non_speech` recognises transcripts that describe a sound rather than speech
(``[ascending tones]``, ``(beep)``); corpus preparation leaves them out and counts them.
"""

from __future__ import annotations

import re
import unicodedata

from edgeasr.text.normalize import remove_punctuation
from edgeasr.text.numbers_fr import expand_french_numbers

__all__ = ["is_non_speech", "normalize_french"]

_CHARACTER_MAP = str.maketrans({
    "\u2019": "'", "\u2018": "'", "\u201b": "'", "\u02bc": "'", "\u02bb": "'",
    "`": "'", "\u00b4": "'", "\u2032": "'", "\u2212": "-",
})
_GROUP_SPACE = re.compile(r"(?<=\d)[\u00a0\u202f](?=\d{3}(?!\d))")
_ANNOTATION = re.compile(r"\[[^\]]*\]")
_NON_SPEECH = re.compile(r"^[\s\"'“”«»]*(\[[^\]]*\]|\([^)]*\))[\s\"'“”«».]*$")
_SYMBOL_WORDS = str.maketrans({"&": " et ", "%": " pour cent ", "€": " euros ", "+": " plus "})


def is_non_speech(text: str) -> bool:
    """True when the whole transcript is one bracketed or parenthesised description.

    >>> is_non_speech("[ascending tones]"), is_non_speech("(beep)"), is_non_speech("un (deux)")
    (True, True, False)
    """
    return bool(_NON_SPEECH.match(text))


def normalize_french(text: str) -> str:
    """Normalise French text to the French character vocabulary (rules in the module doc).

    >>> normalize_french("Vous n'êtes plus en ligne.")
    "vous n'êtes plus en ligne"
    >>> normalize_french("Quatre-vingt-dix-neuf, 99 ; 80 ; 21")
    'quatre vingt dix neuf quatre vingt dix neuf quatre vingts vingt et un'
    """
    text = _GROUP_SPACE.sub("", text.translate(_CHARACTER_MAP))
    text = unicodedata.normalize("NFKC", text).lower()
    text = _ANNOTATION.sub(" ", text)
    text = expand_french_numbers(text.translate(_SYMBOL_WORDS))
    text = remove_punctuation(text)
    words = (word.strip("'") for word in text.split())
    return " ".join(word for word in words if word)
