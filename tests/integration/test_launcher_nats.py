"""The NATS server `make run` starts keeps to its memory budget (deploy/launcher.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.launcher import NATS_MEMORY, Platform, Ports, memory_bytes


def environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(entry.decode().partition("=")[::2] for entry in raw if entry)


@pytest.mark.parametrize("budget", [NATS_MEMORY, "1GiB"])
def test_each_node_runs_with_the_budget_and_collects_at_it(tmp_path: Path, budget: str) -> None:
    platform = Platform(var_dir=tmp_path, ports=Ports.free(), nats_nodes=2, nats_memory=budget)
    try:
        platform.start_nats()  # returns once every node takes connections
        for name in platform.nats_names:
            env = environ(platform.procs[name].pid)
            assert env["GOMEMLIMIT"] == str(memory_bytes(budget))
            assert env["GOGC"] == "off"
    finally:
        platform.stop()
