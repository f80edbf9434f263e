"""Reading Home Assistant sentence templates (hassil YAML) with file and line for every error.

The format is the one of ``home-assistant/intents`` and of Home Assistant's
``custom_sentences``, parsed by the ``hassil`` package::

    language: en
    intents:
      HassTurnOn:
        data:
          - sentences:
              - "(turn|switch) on [the] {area} lights"
            slots: {domain: light}
    lists:
      area:
        values: [kitchen, {in: "living room", out: living_room}]
      brightness: {range: {from: 0, to: 100}}
    expansion_rules:
      the: "[the]"

A grammar is one file or a folder of ``*.yaml``/``*.yml``/``*.json`` files, merged in name
order the way Home Assistant merges its files. Before hassil sees a template, every
template (sentences, expansion rules, list values) is checked here, so a typo is reported
as ``file:line: problem at column N: 'token' in "template"`` rather than as a parser trace.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...errors import DecodingError

__all__ = ["GrammarError", "IntentTemplates", "Location", "load_templates", "require_hassil"]

_SUFFIXES = (".yaml", ".yml", ".json")
_CLOSE = {"(": ")", "[": "]", "{": "}", "<": ">"}
_OPENERS = {v: k for k, v in _CLOSE.items()}


class GrammarError(DecodingError):
    """A grammar file that cannot be used: syntax, structure, unknown names, wrong vocabulary."""


@dataclass(frozen=True)
class Location:
    """Where a template was written: ``file:line`` (1-based line)."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class IntentTemplates:
    """A loaded grammar.

    Attributes:
        intents: the merged ``hassil.Intents`` (lists, expansion rules, sentences).
        where: ``(intent name, template text) -> Location`` of every sentence template;
            ``("<rule>", name)`` and ``("{list}", name)`` locate rules and lists.
        files: the files read, in merge order.
    """

    intents: Any
    where: Mapping[tuple[str, str], Location]
    files: tuple[str, ...]

    def locate(self, intent: str, text: str) -> Location | None:
        """Location of a sentence template of ``intent`` (None if it was not read from a file)."""
        return self.where.get((intent, text))


def require_hassil() -> Any:
    """Import ``hassil`` or say how to install it."""
    try:
        import hassil
    except ImportError as err:
        raise GrammarError("command grammars need the hassil package: pip install "
                           "'edgeasr-device[grammar]' (or pip install hassil)") from err
    return hassil


def load_templates(path: str | os.PathLike) -> IntentTemplates:
    """Read and check a grammar file or folder, then build hassil's ``Intents`` from it.

    Raises:
        GrammarError: naming file, line and offending token for syntax errors, and the
            file for unreadable files or a wrong structure.
    """
    hassil = require_hassil()
    from hassil.util import merge_dict

    files = _grammar_files(Path(path))
    merged: dict[str, Any] = {}
    where: dict[tuple[str, str], Location] = {}
    for file in files:
        data, lines = _read_yaml(file)
        _check_document(data, lines, str(file), where)
        merge_dict(merged, copy.deepcopy(data))
    merged.setdefault("language", "en")
    merged.setdefault("intents", {})
    if not merged["intents"]:
        raise GrammarError(f"{path}: the grammar has no intents; add an 'intents:' section "
                           f"(intents: NAME: data: - sentences: [...])")
    try:
        intents = hassil.Intents.from_dict(merged)
    except (KeyError, TypeError, ValueError, AssertionError) as err:
        raise GrammarError(f"{path}: hassil cannot read the grammar: {err!r}") from err
    return IntentTemplates(intents=intents, where=where, files=tuple(map(str, files)))


def _grammar_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in _SUFFIXES
                       and p.is_file())
        if not files:
            raise GrammarError(f"{path}: the folder has no .yaml/.yml/.json grammar files")
        return files
    if not path.is_file():
        raise GrammarError(f"{path}: no such grammar file or folder")
    return [path]


def _read_yaml(file: Path) -> tuple[Any, dict[tuple, int]]:
    """The document and ``{key path: 1-based line}`` for every node in it."""
    import yaml

    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise GrammarError(f"{file}: cannot read the grammar file: {err}") from err
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err)
        raise GrammarError(f"{file}{line}: not valid YAML: {problem}") from err
    lines: dict[tuple, int] = {}
    if node is not None:
        _index_lines(node, (), lines)
    return data, lines


def _index_lines(node: Any, path: tuple, lines: dict[tuple, int]) -> None:
    import yaml

    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else None
            lines.setdefault(path + (name,), key.start_mark.line + 1)
            _index_lines(value, path + (name,), lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index_lines(item, path + (i,), lines)


class _Checker:
    """Structure and template checks of one file, reporting ``file:line``."""

    def __init__(self, file: str, lines: dict[tuple, int]):
        self.file, self.lines = file, lines

    def at(self, path: tuple) -> Location:
        while path and path not in self.lines:
            path = path[:-1]
        return Location(self.file, self.lines.get(path, 1))

    def fail(self, path: tuple, message: str) -> GrammarError:
        return GrammarError(f"{self.at(path)}: {message}")

    def mapping(self, value: Any, path: tuple, what: str) -> Mapping:
        if not isinstance(value, Mapping):
            raise self.fail(path, f"{what} must be a mapping (name: ...), got "
                                  f"{type(value).__name__}")
        return value

    def template(self, text: Any, path: tuple, what: str) -> None:
        """Check delimiters and let hassil parse ``text``."""
        if not isinstance(text, str):
            raise self.fail(path, f"{what} must be a string, got {text!r}; quote it "
                                  f"(YAML reads on/off/yes/no as booleans)")
        problem = _delimiter_problem(text)
        if problem is None:
            from hassil import parse_sentence
            from hassil.parser import ParseError
            try:
                parse_sentence(text)
            except (ParseError, AssertionError, ValueError, IndexError) as err:
                problem = f"hassil cannot parse it ({err})"
        if problem is not None:
            raise self.fail(path, f"{problem} in {what} \"{text}\"")


def _check_document(data: Any, lines: dict[tuple, int], file: str,
                    where: dict[tuple[str, str], Location]) -> None:
    check = _Checker(file, lines)
    if data is None:
        return
    doc = check.mapping(data, (), "a grammar file")
    known = {"language", "intents", "lists", "expansion_rules", "skip_words", "settings",
             "responses"}
    for key in doc:
        if key not in known:
            raise check.fail((key,), f"unknown top-level key {key!r}; a grammar has "
                                     f"{', '.join(sorted(known))}")
    _check_lists(check, doc.get("lists", {}), ("lists",), where)
    _check_rules(check, doc.get("expansion_rules", {}), ("expansion_rules",), where)
    for name, intent in check.mapping(doc.get("intents", {}), ("intents",), "intents").items():
        path = ("intents", name)
        blocks = check.mapping(intent, path, f"intent {name}").get("data")
        if not isinstance(blocks, list) or not blocks:
            raise check.fail(path, f"intent {name} needs 'data:' with a list of blocks "
                                   f"(- sentences: [...])")
        for i, block in enumerate(blocks):
            bpath = path + ("data", i)
            block = check.mapping(block, bpath, f"a data block of intent {name}")
            sentences = block.get("sentences")
            if not isinstance(sentences, list) or not sentences:
                raise check.fail(bpath, f"a data block of intent {name} needs 'sentences:' "
                                        f"with a list of templates")
            for j, text in enumerate(sentences):
                check.template(text, bpath + ("sentences", j), f"sentence of {name}")
                where.setdefault((name, text), check.at(bpath + ("sentences", j)))
            _check_lists(check, block.get("lists", {}), bpath + ("lists",), where)
            _check_rules(check, block.get("expansion_rules", {}),
                         bpath + ("expansion_rules",), where)


def _check_rules(check: _Checker, rules: Any, path: tuple,
                 where: dict[tuple[str, str], Location]) -> None:
    for name, body in check.mapping(rules, path, "expansion_rules").items():
        check.template(body, path + (name,), f"expansion rule <{name}>")
        where.setdefault(("<rule>", str(name)), check.at(path + (name,)))


def _check_lists(check: _Checker, lists: Any, path: tuple,
                 where: dict[tuple[str, str], Location]) -> None:
    from hassil.util import is_template

    for name, body in check.mapping(lists, path, "lists").items():
        lpath = path + (name,)
        where.setdefault(("{list}", str(name)), check.at(lpath))
        body = check.mapping(body, lpath, f"list {{{name}}}")
        if "values" in body:
            values = body["values"]
            if not isinstance(values, list):
                raise check.fail(lpath + ("values",), f"list {{{name}}}: values must be a list")
            for i, value in enumerate(values):
                vpath = lpath + ("values", i)
                if isinstance(value, Mapping):
                    if "in" not in value:
                        raise check.fail(vpath, f"list {{{name}}}: a value mapping needs "
                                                f"'in:' (the words) and 'out:' (the slot value)")
                    check.template(value["in"], vpath + ("in",), f"value of list {{{name}}}")
                elif isinstance(value, str):
                    if is_template(value):
                        check.template(value, vpath, f"value of list {{{name}}}")
                else:
                    raise check.fail(vpath, f"list {{{name}}}: value {value!r} is not a string; "
                                            f"quote it (YAML reads on/off/yes/no as booleans)")
        elif "range" in body:
            rng = check.mapping(body["range"], lpath + ("range",), f"range of list {{{name}}}")
            for key in ("from", "to"):
                if not isinstance(rng.get(key), int) or isinstance(rng.get(key), bool):
                    raise check.fail(lpath + ("range",), f"list {{{name}}}: range needs "
                                                         f"integer 'from:' and 'to:'")
            if rng["from"] > rng["to"] or int(rng.get("step", 1)) <= 0:
                raise check.fail(lpath + ("range",), f"list {{{name}}}: range needs "
                                                     f"from <= to and a positive step")
        elif not body.get("wildcard", False):
            raise check.fail(lpath, f"list {{{name}}} needs 'values:', 'range:' or "
                                    f"'wildcard: true'")


def _delimiter_problem(text: str) -> str | None:
    """Unbalanced or empty ``( [ { <`` in a template, with column and token, or None."""
    stack: list[tuple[str, int]] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch in _CLOSE:
            if stack and stack[-1][0] in "{<":
                return f"{ch!r} inside {stack[-1][0]}...{_CLOSE[stack[-1][0]]} at column " \
                       f"{i + 1}: {text[stack[-1][1]:i + 1]!r}"
            stack.append((ch, i))
        elif ch in _OPENERS:
            if not stack:
                return f"unexpected {ch!r} at column {i + 1}: {text[max(0, i - 12):i + 1]!r}"
            opener, start = stack.pop()
            token = text[start:i + 1]
            if opener != _OPENERS[ch]:
                return f"{opener!r} at column {start + 1} is closed by {ch!r}: {token!r}"
            if len(token) == 2:
                return f"empty {token!r} at column {start + 1}"
        i += 1
    if stack:
        opener, start = stack[-1]
        return f"{opener!r} at column {start + 1} is never closed: {text[start:start + 24]!r}"
    return None
