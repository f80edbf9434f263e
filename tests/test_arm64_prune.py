"""scripts/arm64_prune.sh: the emulated-arm64 caches of other script versions go, nothing else."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "arm64_prune.sh"
CURRENT, OLD = "0123456789abcdef", "fedcba9876543210"


def make_root(tmp_path: Path) -> Path:
    root = tmp_path / "arm64"
    for name in (CURRENT, OLD, "0000000000000000", "notes", "ABCDEF0123456789"):
        (root / name).mkdir(parents=True)
        (root / name / "rootfs.tar.zst").write_bytes(b"x" * 1000)
    (root / ".lock").write_text("")
    (root / "1111111111111111").write_text("a file, not a cache folder")
    return root


def prune(root: Path, **env) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SCRIPT), str(root), CURRENT], capture_output=True,
                          text=True, env={**os.environ, **env}, check=True)


def test_other_versions_caches_are_removed_and_named(tmp_path):
    root = make_root(tmp_path)
    done = prune(root)
    left = {p.name for p in root.iterdir()}
    assert left == {".lock", "1111111111111111", "ABCDEF0123456789", CURRENT, "notes"}
    assert (root / CURRENT / "rootfs.tar.zst").stat().st_size == 1000
    assert done.stderr.count("removed") == 2 and OLD in done.stderr


def test_keep_old_keeps_everything(tmp_path):
    root = make_root(tmp_path)
    before = sorted(p.name for p in root.iterdir())
    assert prune(root, EDGEASR_ARM64_KEEP_OLD="1").stderr == ""
    assert sorted(p.name for p in root.iterdir()) == before


def test_arm64_script_prunes_under_its_lock():
    text = (SCRIPT.parent / "arm64.sh").read_text()
    lock, call = text.index("flock -w"), text.index("scripts/arm64_prune.sh\" \"$cache_root\"")
    assert lock < call
