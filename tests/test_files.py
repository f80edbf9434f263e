"""Atomic writes: readers see the old or the new file, and files get normal permissions."""

from __future__ import annotations

import os
import stat

import pytest

from edgeasr.files import atomic_directory, atomic_write_bytes, atomic_write_json


@pytest.fixture
def umask():
    """Run a test under a chosen umask, restoring the old one afterwards."""
    old = os.umask(0o022)
    yield lambda mask: os.umask(mask)
    os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077])
def test_written_files_follow_the_umask_like_open_does(tmp_path, umask, mask):
    umask(mask)
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    atomic_write_bytes(tmp_path / "model.tflite", b"TFL3")
    atomic_write_json(tmp_path / "run.json", {"a": 1})
    assert mode(tmp_path / "model.tflite") == mode(plain) == 0o666 & ~mask
    assert mode(tmp_path / "run.json") == 0o666 & ~mask


def test_directories_follow_the_umask_like_mkdir_does(tmp_path, umask):
    umask(0o022)
    with atomic_directory(tmp_path / "ckpt") as tmp:
        (tmp / "w.h5").write_bytes(b"w")
    (tmp_path / "plain").mkdir()
    assert mode(tmp_path / "ckpt") == mode(tmp_path / "plain") == 0o755


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "state.json"
    atomic_write_json(target, {"epoch": 1})

    class Boom(Exception):
        pass

    class Unserialisable:
        def __bytes__(self):
            raise Boom

    with pytest.raises(TypeError):
        atomic_write_bytes(target, Unserialisable())  # type: ignore[arg-type]
    assert target.read_text().strip().startswith("{") and '"epoch": 1' in target.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_a_failed_directory_write_keeps_the_old_folder(tmp_path):
    with atomic_directory(tmp_path / "best") as tmp:
        (tmp / "weights").write_text("old")
    with pytest.raises(RuntimeError), atomic_directory(tmp_path / "best") as tmp:
        (tmp / "weights").write_text("half")
        raise RuntimeError("interrupted")
    assert (tmp_path / "best" / "weights").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best"]
