"""Languages edgeasr can train: a name -> its text normaliser and character vocabulary.

``en`` and ``fr`` today. Training, preparation and the recipes pick the normaliser by this
name (``prepare --language``, ``train: data: language:``); a run whose language is not given
takes it from its vocabulary (:func:`language_of`), so English runs behave as before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from edgeasr.errors import ConfigError
from edgeasr.text.french import normalize_french
from edgeasr.text.normalize import normalize_english
from edgeasr_device.vocab import PIECES, Vocabulary

UNKNOWN = "<unk>"  # SentencePiece's unknown piece

__all__ = ["LANGUAGES", "Language", "get_language", "language_of"]


@dataclass(frozen=True)
class Language:
    """A language's code, its normaliser and its default character vocabulary."""

    code: str
    name: str
    normalize: Callable[[str], str]
    vocabulary: Callable[[], Vocabulary]


LANGUAGES: dict[str, Language] = {
    "en": Language("en", "english", normalize_english, Vocabulary.english),
    "fr": Language("fr", "french", normalize_french, Vocabulary.french),
}


def get_language(code: str) -> Language:
    """``en``/``english``, ``fr``/``french`` (any case) -> the language.

    Raises:
        ConfigError: for another name, listing the known ones.
    """
    key = str(code).lower()
    for language in LANGUAGES.values():
        if key in (language.code, language.name):
            return language
    raise ConfigError(f"unknown language {code!r}; choose one of: {', '.join(LANGUAGES)}")


def language_of(vocabulary: Vocabulary) -> Language:
    """The language whose default vocabulary is ``vocabulary``; English otherwise.

    A piece vocabulary (SentencePiece) has the language whose alphabet first covers every
    character of its pieces (``en``, then ``fr``).
    """
    if vocabulary.kind == PIECES:
        chars = {c for i in range(vocabulary.size) if i != vocabulary.blank_index
                 and vocabulary.tokens[i] != UNKNOWN for c in vocabulary.token_text(i)}
        for language in LANGUAGES.values():
            if chars <= set(language.vocabulary().tokens):
                return language
        return LANGUAGES["en"]
    for language in LANGUAGES.values():
        if language.vocabulary() == vocabulary:
            return language
    return LANGUAGES["en"]
