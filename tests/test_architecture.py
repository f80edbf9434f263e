"""The dependency direction of the codebase (pyproject.toml's [tool.importlinter] contracts).

`lint-imports` (import-linter) checks: the layers from the CLI down to the device package,
that the device package imports no deep-learning framework, that model/data/evaluation code
does not import TensorFlow, and that the subpackages of `edgeasr` have no import cycles.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from support import REPO

LINT_IMPORTS = str(Path(sys.executable).parent / "lint-imports")


def lint(config: Path, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([LINT_IMPORTS, "--config", str(config), "--no-cache"], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_the_import_contracts_hold():
    result = lint(REPO / "pyproject.toml", REPO)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "Contracts: 4 kept, 0 broken." in result.stdout


def test_the_contract_types_catch_what_they_are_for(tmp_path):
    """The same kinds of contract on a throwaway package that breaks each of them."""
    pkg = tmp_path / "toy"
    for name, body in {
        "__init__.py": "",
        "cli.py": "import toy.core\n",
        "core.py": "import toy.base\n",
        "base.py": "import toy.core\nimport json\n",  # upward import and a cycle
        "ground.py": "import toy.cli\n",  # the bottom importing the top
    }.items():
        (pkg / name).parent.mkdir(parents=True, exist_ok=True)
        (pkg / name).write_text(body)
    config = tmp_path / "contracts.toml"
    config.write_text(textwrap.dedent("""
        [tool.importlinter]
        root_packages = ["toy"]
        include_external_packages = true

        [[tool.importlinter.contracts]]
        name = "layers"
        type = "layers"
        layers = ["toy.cli", "toy.core", "toy.base", "toy.ground"]

        [[tool.importlinter.contracts]]
        name = "no json at the bottom"
        type = "forbidden"
        source_modules = ["toy.base"]
        forbidden_modules = ["json"]

        [[tool.importlinter.contracts]]
        name = "acyclic"
        type = "acyclic_siblings"
        ancestors = ["toy"]
        depth = 1
    """))
    result = subprocess.run([LINT_IMPORTS, "--config", str(config), "--no-cache"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300,
                            env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert result.returncode != 0
    assert "Contracts: 0 kept, 3 broken." in result.stdout, result.stdout[-3000:]
