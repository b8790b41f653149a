"""The Makefile's venv, made again when it was made from another interpreter (session 24): the
branch a developer meets when the interpreter changes, which a fresh clone never takes.

The repository's Makefile, run for real in a directory of its own beside a minimal project (no
code, no dependencies; pip installs it from the package registry, as `make install` does:
~10 s), so marked deploy_full: `make test-deploy` runs it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROJECT = """\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "venv-probe"
version = "0"

[project.optional-dependencies]
dev = []

[tool.setuptools]
py-modules = []
"""


def make(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.mark.deploy_full
def test_a_venv_from_another_interpreter_is_made_again_and_then_kept(tmp_path: Path) -> None:
    if shutil.which("make") is None:
        pytest.skip("make is needed to run the Makefile")
    base = os.path.realpath(sys.executable)  # the interpreter this run's venv was made from
    shutil.copy(REPO / "Makefile", tmp_path / "Makefile")
    (tmp_path / "pyproject.toml").write_text(PROJECT)
    # What an older interpreter left: a venv whose python runs, stamped with another name.
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "python").symlink_to(shutil.which("true") or "/bin/true")
    (tmp_path / ".venv" / ".installed-another").touch()

    made = make(tmp_path, "venv", f"PYTHON={base}")
    assert made.returncode == 0, made.stdout + made.stderr
    assert "was made from another interpreter: making it again" in made.stdout
    stamps = sorted(p.name for p in (tmp_path / ".venv").glob(".installed-*"))
    assert len(stamps) == 1, stamps
    assert stamps[0] != ".installed-another"
    prefix = subprocess.run(
        [tmp_path / ".venv" / "bin" / "python", "-c", "import sys; print(sys.base_prefix)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert prefix == sys.base_prefix

    # Made from this interpreter, it is kept: the stamp is up to date, nothing runs.
    assert make(tmp_path, "-q", "venv", f"PYTHON={base}").returncode == 0
    again = make(tmp_path, "venv", f"PYTHON={base}")
    assert again.returncode == 0
    assert "making it again" not in again.stdout
