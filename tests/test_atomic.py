"""atomic_path: an output appears whole under its name, or not at all, with the permissions the umask gives."""

from __future__ import annotations

import os
import stat

import pytest

from oncoae.atomic import atomic_path, write_table


@pytest.fixture
def umask():
    """Set a umask for one test and put the previous one back afterwards."""
    previous = os.umask(0o022)
    try:
        yield os.umask
    finally:
        os.umask(previous)


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_success_renames_the_temporary_file_to_the_target(tmp_path):
    target = tmp_path / "sub" / "out.tsv"
    with atomic_path(target) as temporary:
        assert temporary.parent == target.parent and temporary != target
        temporary.write_text("whole\n")
        assert not target.exists()  # nothing under the final name before the block ends
    assert target.read_text() == "whole\n"
    assert list(target.parent.iterdir()) == [target]


def test_failure_leaves_neither_the_temporary_nor_the_target(tmp_path):
    target = tmp_path / "out.tsv"
    with pytest.raises(RuntimeError, match="half-way"), atomic_path(target) as temporary:
        temporary.write_text("half")
        raise RuntimeError("half-way")
    assert list(tmp_path.iterdir()) == []


def test_failure_keeps_an_earlier_complete_output(tmp_path):
    target = tmp_path / "out.tsv"
    target.write_text("previous\n")
    with pytest.raises(RuntimeError), atomic_path(target) as temporary:
        temporary.write_text("half")
        raise RuntimeError
    assert target.read_text() == "previous\n" and list(tmp_path.iterdir()) == [target]


@pytest.mark.parametrize(("mask", "expected"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600), (0o000, 0o666)])
def test_output_permissions_follow_the_umask(tmp_path, umask, mask, expected):
    umask(mask)
    target = tmp_path / "out.tsv"
    with atomic_path(target) as temporary:
        temporary.write_text("x\n")
    assert _mode(target) == expected
    # A plain open() under the same umask gives the same mode: outputs are like any other tool's.
    plain = tmp_path / "plain.txt"
    plain.write_text("x\n")
    assert _mode(plain) == expected


def test_a_folder_output_gets_folder_permissions(tmp_path, umask):
    umask(0o027)
    target = tmp_path / "folder_out"
    with atomic_path(target) as temporary:
        temporary.unlink()
        temporary.mkdir()
        (temporary / "inside.txt").write_text("x\n")
    assert target.is_dir() and _mode(target) == 0o750


def test_write_table_follows_the_umask(tmp_path, umask):
    import pandas as pd

    umask(0o002)
    write_table(pd.DataFrame({"a": [1]}), tmp_path / "t.tsv")
    assert _mode(tmp_path / "t.tsv") == 0o664
