"""Exception types raised by ``edgeasr_device``.

Every error derives from :class:`EdgeAsrError`, so callers can catch one type
for "anything edgeasr refused". The concrete classes also derive from
:class:`ValueError`, because each one means "this input is not usable".

Convention for messages: name the offending file (or quote the offending
text), say what is wrong with it, and say what to do about it.
"""

from __future__ import annotations

__all__ = [
    "ArtifactError",
    "AudioError",
    "DecodingError",
    "EdgeAsrError",
    "LanguageModelError",
    "VocabularyError",
]


class EdgeAsrError(Exception):
    """Base class of every error raised by ``edgeasr_device``."""


class AudioError(EdgeAsrError, ValueError):
    """An audio file or array cannot be used as speech input.

    Raised for missing, empty, undecodable, truncated or non-finite audio.
    """


class ArtifactError(EdgeAsrError, ValueError):
    """A model artifact (``.tflite`` file) is missing, malformed or incompatible."""


class VocabularyError(EdgeAsrError, ValueError):
    """Text or token ids do not fit a :class:`~edgeasr_device.vocab.Vocabulary`."""


class DecodingError(EdgeAsrError, ValueError):
    """Decoding options that cannot be used, e.g. an unknown decoding method."""


class LanguageModelError(DecodingError):
    """A language-model file (ARPA text or compiled) is missing, malformed, or does not fit the
    acoustic model's alphabet. Messages name the file and, for text files, the line."""
