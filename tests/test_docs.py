"""The repository's docs and code point only at files a user of the repository has."""

from __future__ import annotations

import re
import subprocess

from support import REPO

# Files that existed only on the machines edgeasr was first written on.
OUTSIDE = re.compile(r"TOOLCHAIN\.md|ARCHITECTURE\.md|shared/docs")


def tracked_text_files() -> list:
    names = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True,
                           check=True).stdout.split()
    keep = (".py", ".md", ".sh", ".toml", ".yaml", ".yml", ".txt", ".service")
    return [REPO / n for n in names if n.endswith(keep) and (REPO / n).is_file()]


def test_no_reference_to_documents_users_do_not_have():
    files = tracked_text_files()
    assert any(f.name == "README.md" for f in files)
    offenders = [f"{f.relative_to(REPO)}:{i}" for f in files if f.name != "test_docs.py"
                 for i, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1)
                 if OUTSIDE.search(line)]
    assert offenders == []


def test_local_markdown_links_resolve():
    broken = []
    for doc in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#\s]+)\)", doc.read_text(encoding="utf-8")):
            if "://" in target:
                continue
            if not (doc.parent / target).exists():
                broken.append(f"{doc.relative_to(REPO)} -> {target}")
    assert broken == []
