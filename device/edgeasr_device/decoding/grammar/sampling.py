"""Random sentences of a grammar, drawn template by template (for the grammar's n-gram).

Each draw picks a sentence template uniformly, then at every alternative one branch
uniformly, every list one value uniformly (a range: one number, spelled), every permutation
one order. Sentences the model cannot say (their text fails the token graph) are redrawn.
A draw per template, rather than a walk of the token graph, keeps the share of each command
close to its share of templates instead of favouring short lists.
"""

from __future__ import annotations

import random
from typing import Any

from .graph import number_speller

__all__ = ["sample_sentences"]

_MAX_DEPTH = 32


def sample_sentences(grammar: Any, n: int, seed: int = 0) -> list[str]:
    """``n`` random sayable sentences of a :class:`~.intents.Grammar` (fewer if hardly any
    draw is sayable)."""
    from hassil import (
        Alternative,
        Group,
        ListReference,
        Permutation,
        RangeSlotList,
        RuleReference,
        TextChunk,
        TextSlotList,
    )

    intents = grammar.templates.intents
    templates = [(data, sentence) for intent in intents.intents.values()
                 for data in intent.data for sentence in data.sentences]
    rng = random.Random(seed)

    def text(exp: Any, data: Any, depth: int) -> str | None:
        if depth > _MAX_DEPTH:
            return None
        if isinstance(exp, TextChunk):
            return exp.text
        if isinstance(exp, Alternative):
            return text(rng.choice(exp.items), data, depth + 1) if exp.items else ""
        if isinstance(exp, Permutation):
            items = list(exp.items)
            rng.shuffle(items)
            return join(items, data, depth)
        if isinstance(exp, Group):
            return join(exp.items, data, depth)
        if isinstance(exp, RuleReference):
            rule = data.expansion_rules.get(exp.rule_name) or intents.expansion_rules.get(
                exp.rule_name)
            return None if rule is None else text(rule.expression, data, depth + 1)
        if isinstance(exp, ListReference):
            slot_list = data.slot_lists.get(exp.list_name) or intents.slot_lists.get(
                exp.list_name)
            if isinstance(slot_list, TextSlotList) and slot_list.values:
                return text(rng.choice(slot_list.values).text_in, data, depth + 1)
            if isinstance(slot_list, RangeSlotList):
                numbers = list(slot_list.get_numbers())
                return _spoken(rng.choice(numbers), intents.language)
            return None
        return None

    def join(items: list[Any], data: Any, depth: int) -> str | None:
        parts = [text(item, data, depth + 1) for item in items]
        return None if any(p is None for p in parts) else "".join(parts)

    out: list[str] = []
    for _ in range(20 * n):
        if len(out) == n or not templates:
            break
        data, sentence = rng.choice(templates)
        said = text(sentence.expression, data, 0)
        if said is not None:
            said = " ".join(said.split())
            if said and grammar.accepts(said):
                out.append(said)
    return out


def _spoken(number: Any, language: str) -> str:
    return number_speller(language).format_number(number).text.replace("-", " ")
