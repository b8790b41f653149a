"""The short form of `make chaos`: scenarios 1, 3, 5 and 8 with a few hundred reports each."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.chaos.harness import RECOVERY_TARGET_S, SCENARIOS, run_scenario, table
from tests.pgserver import find_bin_dir

pytestmark = pytest.mark.chaos

REPORTS = int(os.environ.get("CHAOS_REPORTS", "300"))


@pytest.mark.parametrize("number", [1, 3, 5, 8], ids=lambda n: f"scenario-{n}")
def test_nothing_is_lost_or_doubled_under_the_fault(number: int, tmp_path: Path) -> None:
    if SCENARIOS[number].store == "postgres" and find_bin_dir() is None:
        message = "PostgreSQL binaries (initdb, pg_ctl) not found; `make install` installs them"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    row = run_scenario(number, REPORTS, tmp_path)
    print("\n" + table([row]), *row.notes, sep="\n")
    why = f"{row.misses()}; logs in {tmp_path / f'scenario-{number}' / 'logs'}"
    assert row.problems == [], why
    assert row.accepted == REPORTS, why
    assert row.lost == 0, why
    assert row.dup_tasks == 0, why
    assert row.dup_notices == 0, why
    assert row.dead_lettered == SCENARIOS[number].dead_letters, why
    assert row.recover_s is not None, why
    assert row.recover_s <= RECOVERY_TARGET_S, why
