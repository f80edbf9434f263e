"""Sentence templates -> a token graph a CTC search can walk: which token may come next.

Compilation has two stages.

1. :func:`compile_grammar` turns every hassil template into one character-level automaton
   (a non-deterministic graph with empty moves), in size linear in the grammar, not in the
   number of sentences it expands to: a list of 10 000 names costs 10 000 short paths
   (shared prefixes merged), a range ``0..100`` costs its spelled numbers, an expansion
   rule is copied where it is used. Whitespace becomes a word boundary. Like hassil's
   matcher, which compares template text literally (``turn-on`` does not match "turn on"),
   every other character must be one the model can emit: a branch with one that is not is
   dropped (``{n}[%| percent]`` keeps `` percent``), and a template left with no branch at
   all is *unusable*. The grammar's ``skip_words`` (which hassil's matcher ignores) may come
   before and after any sentence.
2. :class:`~.automaton.TokenGraph` determinises it lazily, one state at a time as the search reaches
   it: a state is the set of automaton positions that one token prefix can be in, and its
   arcs are the tokens that may follow. Consecutive boundaries collapse into exactly one
   space token between words, none at the start.

A search over the graph never has two hypotheses for one prefix, however many templates
share it (``turn on the ...``), which keeps a small beam effective on large grammars.
"""

from __future__ import annotations

import functools
import itertools
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from ...vocab import BLANK, Vocabulary
from .automaton import BOUNDARY, Automaton, TokenGraph
from .templates import GrammarError, IntentTemplates, Location

__all__ = ["CompiledGrammar", "Unusable", "compile_grammar"]

_MAX_PERMUTATION = 6
_MAX_RULE_DEPTH = 32
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u00b4": "'"})


@dataclass(frozen=True)
class Unusable:
    """A sentence template with no path the model can say, and why."""

    intent: str
    template: str
    where: Location | None
    reasons: tuple[str, ...]

    def __str__(self) -> str:
        place = f"{self.where}: " if self.where else ""
        return f"{place}{self.intent} \"{self.template}\": {'; '.join(self.reasons)}"


@dataclass(frozen=True)
class CompiledGrammar:
    """The automaton of a whole grammar plus what could not be compiled."""

    graph: TokenGraph
    unusable: tuple[Unusable, ...]
    sentences: int


class _Compiler:
    """Walks hassil expressions, adding paths to one automaton (see module docstring)."""

    def __init__(self, templates: IntentTemplates, vocabulary: Vocabulary):
        self.templates, self.intents = templates, templates.intents
        tokens = vocabulary.tokens
        self.ids = {t: i for i, t in enumerate(tokens) if i != vocabulary.blank_index
                    and len(t) == 1 and t != BLANK}
        self.lowercase = not any(t != t.lower() for t in tokens if t != BLANK)
        self.auto = Automaton()
        self.numbers: dict[tuple, list[str]] = {}

    # -- text -----------------------------------------------------------------------------
    def spell(self, text: str, reasons: set[str]) -> list[int] | None:
        """Text -> symbols (token ids and boundaries), or None (reason added) if unsayable."""
        text = unicodedata.normalize("NFC", text).translate(_APOSTROPHES)
        if self.lowercase:
            text = text.lower()
        out: list[int] = []
        bad = []
        for ch in text:
            if ch.isspace():
                out.append(BOUNDARY)
            elif ch in self.ids:
                out.append(self.ids[ch])
            else:
                bad.append(ch)
        if bad:
            reasons.update(f"c{c}" for c in bad)
            return None
        return out

    def strings(self, src: int, texts: list[str], reasons: set[str]) -> int | None:
        """Alternatives of plain strings as a prefix-shared tree ending in one node."""
        end, children, any_ok = self.auto.node(), {}, False
        before = set(reasons)
        for text in texts:
            symbols = self.spell(text, reasons)
            if symbols is None:
                continue
            node = src
            for sym in symbols:
                key = (node, sym)
                if key not in children:
                    children[key] = self.auto.symbols(node, [sym])
                node = children[key]
            self.auto.eps[node].append(end)
            any_ok = True
        return _settle(end, any_ok, reasons, before)

    # -- expressions ----------------------------------------------------------------------
    def expr(self, exp: Any, src: int, ctx: _Context) -> int | None:
        from hassil import Alternative, Group, ListReference, Permutation, RuleReference, TextChunk
        if isinstance(exp, TextChunk):
            symbols = self.spell(exp.text, ctx.reasons)
            return None if symbols is None else self.auto.symbols(src, symbols)
        if isinstance(exp, Alternative):
            return self.alternatives(exp.items, src, ctx)
        if isinstance(exp, Permutation):
            if len(exp.items) > _MAX_PERMUTATION:
                raise ctx.error(f"a permutation of {len(exp.items)} parts (a;b;...) has too many "
                                f"orders; use at most {_MAX_PERMUTATION} parts")
            orders = [list(order) for order in itertools.permutations(exp.items)]
            return self.alternatives(orders, src, ctx)
        if isinstance(exp, Group):
            return self.sequence(exp.items, src, ctx)
        if isinstance(exp, ListReference):
            return self.slot_list(exp, src, ctx)
        if isinstance(exp, RuleReference):
            return self.rule(exp.rule_name, src, ctx)
        raise ctx.error(f"unsupported template part {type(exp).__name__}")

    def sequence(self, items: list[Any], src: int, ctx: _Context) -> int | None:
        for item in items:
            src = self.expr(item, src, ctx)
            if src is None:
                return None
        return src

    def alternatives(self, items: list[Any], src: int, ctx: _Context) -> int | None:
        end, any_ok = self.auto.node(), False
        before = set(ctx.reasons)
        for item in items:
            branch = self.auto.node()
            self.auto.eps[src].append(branch)
            stop = (self.sequence(item, branch, ctx) if isinstance(item, list)
                    else self.expr(item, branch, ctx))
            if stop is not None:
                self.auto.eps[stop].append(end)
                any_ok = True
        return _settle(end, any_ok, ctx.reasons, before)

    def rule(self, name: str, src: int, ctx: _Context) -> int | None:
        rule = ctx.data.expansion_rules.get(name) or self.intents.expansion_rules.get(name)
        if rule is None:
            raise ctx.error(f"unknown expansion rule <{name}>; define it under expansion_rules:")
        if name in ctx.rules or len(ctx.rules) >= _MAX_RULE_DEPTH:
            chain = " -> ".join(f"<{r}>" for r in (*ctx.rules, name))
            raise ctx.error(f"expansion rules refer to themselves: {chain}")
        ctx.rules.append(name)
        try:
            return self.expr(rule.expression, src, ctx)
        finally:
            ctx.rules.pop()

    def slot_list(self, ref: Any, src: int, ctx: _Context) -> int | None:
        from hassil import RangeSlotList, TextChunk, TextSlotList, WildcardSlotList
        name = ref.list_name
        if getattr(ref, "is_inline_range", False):  # {1..10}, hassil >= 3.2
            start, stop, step = ref.get_inline_range()
            slot_list = RangeSlotList(name=None, start=start, stop=stop, step=step)
        else:
            slot_list = ctx.data.slot_lists.get(name) or self.intents.slot_lists.get(name)
        if slot_list is None:
            raise ctx.error(f"unknown list {{{name}}}; define it under lists: (values:, range: "
                            f"or wildcard:)")
        if isinstance(slot_list, WildcardSlotList):
            ctx.reasons.add(f"w{name}")
            return None
        if isinstance(slot_list, RangeSlotList):
            return self.strings(src, self.range_texts(slot_list), ctx.reasons)
        if isinstance(slot_list, TextSlotList):
            plain = [v.text_in.text for v in slot_list.values if isinstance(v.text_in, TextChunk)]
            templated = [v.text_in for v in slot_list.values
                         if not isinstance(v.text_in, TextChunk)]
            if not templated:
                return self.strings(src, plain, ctx.reasons)
            items = [TextChunk(text) for text in plain] + templated
            return self.alternatives(items, src, ctx)
        raise ctx.error(f"list {{{name}}} has an unsupported type {type(slot_list).__name__}")

    def range_texts(self, rl: Any) -> list[str]:
        """Spoken (and, if the model has digits, written) forms of a range's numbers."""
        language = rl.words_language or self.intents.language
        key = (rl.start, rl.stop, rl.step, rl.fraction_type, rl.digits, rl.words, language)
        if key not in self.numbers:
            texts: list[str] = []
            engine = None
            if rl.words:
                engine = number_speller(language)
            for number in rl.get_numbers():
                if rl.digits:
                    texts.append(str(number))
                if engine is not None:  # hassil reads "twenty-five" as "twenty five" too
                    spelled = engine.format_number(number).text_by_ruleset.values()
                    texts.extend(dict.fromkeys(t.replace("-", " ") for t in spelled))
            self.numbers[key] = texts
        return self.numbers[key]


@functools.lru_cache(maxsize=8)
def number_speller(language: str) -> Any:
    """unicode-rbnf's engine (hassil's number speller) for ``language`` or its family."""
    from unicode_rbnf import RbnfEngine

    code = language.replace("-", "_")
    for candidate in dict.fromkeys((code, code.split("_")[0])):
        try:
            return RbnfEngine.for_language(candidate)
        except ValueError:
            continue
    raise GrammarError(f"cannot spell the numbers of range lists in language {language!r}; "
                       f"set 'language:' of the grammar to one unicode-rbnf knows, or use "
                       f"values: lists")


def _settle(end: int, any_ok: bool, reasons: set[str], before: set[str]) -> int | None:
    """End node of alternatives; if one branch worked, the others' drop reasons are moot."""
    if not any_ok:
        return None
    reasons.intersection_update(before)
    return end


def _explain(reasons: set[str]) -> tuple[str, ...]:
    """Readable reasons from the codes ``c<char>`` (unsayable) and ``w<list>`` (wildcard)."""
    chars = sorted(r[1:] for r in reasons if r[0] == "c")
    out = [f"characters the model cannot emit: {', '.join(map(repr, chars))}"] if chars else []
    out += [f"wildcard list {{{r[1:]}}} (any text) cannot be recognised by a closed grammar"
            for r in sorted(reasons) if r[0] == "w"]
    return tuple(out)


@dataclass
class _Context:
    """Per-template state: its data block (local lists/rules), location and drop reasons."""

    data: Any
    intent: str
    template: str
    where: Location | None
    reasons: set[str] = field(default_factory=set)
    rules: list[str] = field(default_factory=list)

    def error(self, message: str) -> GrammarError:
        place = f"{self.where}: " if self.where else ""
        return GrammarError(f"{place}{message} (in a sentence of {self.intent}: "
                            f"\"{self.template}\")")


def compile_grammar(templates: IntentTemplates, vocabulary: Vocabulary) -> CompiledGrammar:
    """One :class:`TokenGraph` for every sentence of every intent.

    Raises:
        GrammarError: an unknown list or rule (with file:line of the template), recursive
            rules, or no template the model can say.
    """
    comp = _Compiler(templates, vocabulary)
    auto = comp.auto
    start, done, final = auto.node(), auto.node(), auto.node()
    auto.eps[done].append(final)
    auto.gaps[final].append(final)  # a trailing space is allowed
    skip = [w for w in templates.intents.skip_words if w.strip()]
    if skip:  # hassil's matcher ignores skip words ("please", "can you"): allow them
        head = comp.strings(start, skip, set())  # before a sentence
        if head is not None:
            auto.gaps[head].append(start)
        after = auto.node()  # and after it
        tail = comp.strings(after, skip, set())
        if tail is not None:
            auto.gaps[done].append(after)
            auto.eps[tail].append(done)
    unusable: list[Unusable] = []
    count = 0
    for name, intent in templates.intents.intents.items():
        for data in intent.data:
            for sentence in data.sentences:
                text = sentence.text or ""
                ctx = _Context(data, name, text, templates.locate(name, text))
                end = comp.expr(sentence.expression, start, ctx)
                if end is None:
                    unusable.append(Unusable(name, text, ctx.where, _explain(ctx.reasons)))
                else:
                    auto.eps[end].append(done)
                    count += 1
    if count == 0:
        shown = "\n  ".join(map(str, unusable[:5]))
        raise GrammarError(f"no sentence of the grammar can be said with this model's "
                           f"vocabulary:\n  {shown}\nrespell the templates with the model's "
                           f"characters or use a model trained for this language")
    space = vocabulary.space_index
    graph = TokenGraph(auto, start, final, -1 if space is None else space)
    return CompiledGrammar(graph=graph, unusable=tuple(unusable), sentences=count)
