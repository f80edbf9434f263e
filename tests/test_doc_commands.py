"""Every `edgeasr ...` and `edgeasr-device ...` command line in the README, docs/ and the
recipes' READMEs names a command that exists and only options that command has, so an
example cannot go stale when a flag is renamed (the commands themselves are tested elsewhere).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest

from edgeasr.cli import main as edgeasr_main
from edgeasr_device.cli import main as device_main

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", REPO / "device" / "README.md", *sorted((REPO / "docs").glob("*.md")),
        *sorted((REPO / "recipes").glob("*/README.md"))]
PROGRAMS = {"edgeasr": edgeasr_main, "edgeasr-device": device_main}
# a command line inside a fenced block, or in backticks in prose: the program, then words
_LINE = re.compile(r"^\s*(?:\$\s*)?(edgeasr(?:-device)?)\s+(.*)$")
_INLINE = re.compile(r"`(edgeasr(?:-device)?)\s+([^`]+)`")


def command_lines(text: str) -> list[tuple[int, str, str]]:
    """(line number, program, arguments) of each command line: fenced lines joined across
    trailing backslashes, and inline code spans in prose."""
    found = []
    fenced = False
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif fenced:
            start = i
            while line.rstrip().endswith("\\") and i + 1 < len(lines):
                i += 1
                line = line.rstrip()[:-1] + " " + lines[i].strip()
            match = _LINE.match(line)
            if match:
                found.append((start + 1, match.group(1), match.group(2)))
        else:
            found.extend((i + 1, m.group(1), m.group(2)) for m in _INLINE.finditer(line))
        i += 1
    return found


def words(arguments: str) -> list[str] | None:
    """The words before a comment, pipe or redirection, or None if they are not shell words
    (an elided example such as `edgeasr train ...` is still checked up to the dots)."""
    arguments = re.split(r"\s#\s|\s#$|\s[|>]\s|\s&&\s|\s;\s", " " + arguments + " ", maxsplit=1)[0]
    try:
        return shlex.split(arguments)
    except ValueError:
        return None


def check(program: str, argv: list[str]) -> str | None:
    """What is wrong with ``program argv`` (an unknown command or option), or None."""
    command: click.Command = PROGRAMS[program]
    path = [program]
    while isinstance(command, click.Group) and argv and not argv[0].startswith("-"):
        if argv[0] in ("...", "[...]") or not re.fullmatch(r"[a-z][a-z0-9-]*", argv[0]):
            return None  # a placeholder for the command
        sub = command.get_command(click.Context(command), argv[0])
        if sub is None:
            return f"no command {' '.join(path)} {argv[0]}"
        command, path, argv = sub, [*path, argv[0]], argv[1:]
    known = {opt for param in command.params for opt in [*param.opts, *param.secondary_opts]}
    known |= {"--help", "--version", "-v", "--verbose"}
    for word in argv:
        if word.startswith("--"):
            name = word.split("=", 1)[0]
            if name != "--" and re.fullmatch(r"--[a-z0-9][a-z0-9-]*", name) and name not in known:
                return f"{' '.join(path)} has no option {name}"
    return None


def test_the_checker_finds_stale_examples():
    text = ("```bash\nedgeasr export --run r --out m.tflite \\\n    --quantise int8\n```\n"
            "Prose with `edgeasr trian --out r` and `edgeasr-device transcribe --model x a.wav`.\n")
    lines = command_lines(text)
    assert [(n, p) for n, p, _ in lines] == [(2, "edgeasr"), (5, "edgeasr"), (5, "edgeasr-device")]
    problems = [check(p, words(a)) for _, p, a in lines]
    assert problems == ["edgeasr export has no option --quantise", "no command edgeasr trian", None]
    assert check("edgeasr", words("average --run r --last 3  # a comment --not-an-option")) is None


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_documented_commands_exist_with_their_options(doc):
    problems = []
    for number, program, arguments in command_lines(doc.read_text(encoding="utf-8")):
        argv = words(arguments)
        if argv is None:
            continue
        problem = check(program, argv)
        if problem:
            problems.append(f"{doc.relative_to(REPO)}:{number}: {problem}")
    assert not problems, "\n".join(problems)
