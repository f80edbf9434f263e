"""A command grammar ready for decoding: templates, token graph and intent parser together.

>>> grammar = load_grammar("intents.yaml", vocabulary)
>>> grammar.parse("turn on the kitchen lights")
Intent(name='HassTurnOn', slots={'area': 'kitchen', 'domain': 'light'})

Parsing is hassil's own matcher (``hassil.recognize``), so a transcript gets the intent and
slot values Home Assistant would give it. Any transcript can be parsed: one found by the
grammar search, a greedy transcript, or the output of an open-vocabulary search.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...vocab import Vocabulary
from ..base import Intent
from .automaton import TokenGraph
from .graph import Unusable, compile_grammar
from .templates import GrammarError, IntentTemplates, load_templates

__all__ = ["Grammar", "load_grammar"]

_SHOWN = 5


@dataclass(frozen=True)
class Grammar:
    """A loaded grammar for one model vocabulary.

    Attributes:
        templates: the parsed files (hassil ``Intents`` inside).
        graph: the token graph the grammar search walks.
        vocabulary: the model's vocabulary the graph was built for.
        sentences: sentence templates compiled.
        skipped: templates left out because the model cannot say them.
    """

    templates: IntentTemplates
    graph: TokenGraph
    vocabulary: Vocabulary
    sentences: int
    skipped: tuple[Unusable, ...]

    @property
    def intent_names(self) -> tuple[str, ...]:
        return tuple(self.templates.intents.intents)

    def parse(self, text: str, context: Mapping[str, Any] | None = None) -> Intent | None:
        """The intent and slot values of ``text``, or None if no template matches it.

        ``context`` is hassil's intent context: the values a template's
        ``requires_context:`` asks for (Home Assistant passes the satellite's area, e.g.
        ``{"area": {"value": "kitchen"}}``); without it such templates do not match.
        """
        from hassil import recognize

        text = text.strip()
        if not text:
            return None
        intents = self.templates.intents
        result = recognize(text, intents, language=intents.language,
                           intent_context=dict(context) if context else None)
        if result is None:
            return None
        slots = {name: _plain(entity.value) for name, entity in result.entities.items()}
        return Intent(name=result.intent.name, slots=slots)

    def accepts(self, text: str) -> bool:
        """Whether the token graph holds ``text`` as a whole sentence."""
        try:
            ids = self.vocabulary.encode(text)
        except ValueError:
            return False
        return self.graph.accepts(ids)

    def sample(self, n: int, seed: int = 0) -> list[str]:
        """``n`` random sentences of the grammar, drawn template by template
        (:func:`~.sampling.sample_sentences`); used to build its n-gram."""
        from .sampling import sample_sentences

        return sample_sentences(self, n, seed)


def load_grammar(path: str | os.PathLike, vocabulary: Vocabulary,
                 skip_unusable: bool = False) -> Grammar:
    """Read a hassil grammar and build its token graph for a model's vocabulary.

    Raises:
        GrammarError: for syntax or structure errors (file, line, token), unknown lists or
            rules, and (unless ``skip_unusable``) for templates the model cannot say.
    """
    templates = load_templates(path)
    compiled = compile_grammar(templates, vocabulary)
    if compiled.unusable and not skip_unusable:
        listed = "\n  ".join(map(str, compiled.unusable[:_SHOWN]))
        more = len(compiled.unusable) - _SHOWN
        alphabet = "".join(t for t in vocabulary.tokens if len(t) == 1)
        raise GrammarError(
            f"{path}: {len(compiled.unusable)} sentence template(s) cannot be said with this "
            f"model's vocabulary {alphabet!r}:\n  {listed}"
            + (f"\n  ... and {more} more" if more > 0 else "")
            + "\nrespell them with the model's characters (e.g. '25' -> 'twenty five'), give "
              "wildcard lists values:, or leave them out with --grammar-skip-unusable "
              "(grammar_skip_unusable=True)")
    return Grammar(templates=templates, graph=compiled.graph, vocabulary=vocabulary,
                   sentences=compiled.sentences, skipped=compiled.unusable)


def _plain(value: Any) -> Any:
    """Slot values as JSON-safe scalars (hassil gives floats for digits: ``25.0`` -> ``25``)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
