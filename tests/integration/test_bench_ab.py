"""The A/B runner's files (tests/bench/ab.py): the gate two runs wait at, and a revision
checked out with this tree's harness over it, removed after."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.bench import ab


def test_the_gate_says_it_is_ready_and_opens_once_go_exists(tmp_path: Path) -> None:
    ready, go = tmp_path / "ready", tmp_path / "go"
    go.touch()
    ab.Gate(ready, go).wait()
    assert ready.exists()


def test_a_revision_is_checked_out_with_this_trees_harness_and_removed_after(
    tmp_path: Path,
) -> None:
    with ab.checked_out("HEAD", tmp_path) as tree:
        assert tree != ab.ROOT
        assert (tree / "gateway" / "app.py").is_file()
        assert (tree / "tests" / "bench" / "ab.py").read_text() == (
            ab.ROOT / "tests" / "bench" / "ab.py"
        ).read_text()
    assert not tree.exists()
    listed = subprocess.run(
        ["git", "-C", str(ab.ROOT), "worktree", "list"], capture_output=True, text=True, check=True
    ).stdout
    assert str(tree) not in listed
    with ab.checked_out(".", tmp_path) as here:
        assert here == ab.ROOT
