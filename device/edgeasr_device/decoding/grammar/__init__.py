"""Command grammars: Home Assistant sentence templates (hassil YAML) -> text, intent, slots.

:func:`load_grammar` reads the templates and builds a token graph for a model's vocabulary;
the ``"grammar"`` decoding method (:class:`GrammarDecoder`) searches it. ``hassil`` is needed
only when a grammar is loaded (``pip install 'edgeasr-device[grammar]'``).
"""

from edgeasr_device.decoding.grammar.automaton import TokenGraph
from edgeasr_device.decoding.grammar.decoder import GrammarDecoder, GrammarStream
from edgeasr_device.decoding.grammar.graph import Unusable
from edgeasr_device.decoding.grammar.intents import Grammar, load_grammar
from edgeasr_device.decoding.grammar.search import (
    GrammarHypothesis,
    GrammarSearch,
    grammar_search,
)
from edgeasr_device.decoding.grammar.templates import GrammarError, Location

__all__ = [
    "Grammar",
    "GrammarDecoder",
    "GrammarError",
    "GrammarHypothesis",
    "GrammarSearch",
    "GrammarStream",
    "Location",
    "TokenGraph",
    "Unusable",
    "grammar_search",
    "load_grammar",
]
