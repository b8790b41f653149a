"""The launcher's supervision: restart with backoff as Kubernetes does, and its port check."""

from __future__ import annotations

import socket

import pytest

from deploy.supervisor import Backoff, Supervisor, taken_ports

pytestmark = pytest.mark.unit


def test_a_first_crash_restarts_at_once_then_the_delay_doubles_up_to_the_cap() -> None:
    backoff = Backoff(base_s=1, cap_s=8, stable_s=60)
    backoff.started(0)
    delays = [backoff.died(float(t)) for t in range(1, 8)]  # dies every second
    assert delays == [0, 1, 2, 4, 8, 8, 8]


def test_a_run_that_stayed_up_starts_the_count_again() -> None:
    backoff = Backoff(base_s=1, cap_s=30, stable_s=60)
    backoff.started(0)
    assert [backoff.died(1), backoff.died(2), backoff.died(3)] == [0, 1, 2]
    backoff.started(3)
    assert backoff.died(3 + 61) == 0


class _Platform:
    def __init__(self) -> None:
        self.dead: dict[str, int] = {}
        self.respawned: list[str] = []

    def exited(self) -> dict[str, int]:
        return dict(self.dead)

    def respawn(self, name: str) -> None:
        self.respawned.append(name)
        self.dead.pop(name, None)


def test_the_supervisor_restarts_a_dead_process_once_per_death_and_says_so() -> None:
    platform, now = _Platform(), [100.0]
    said: list[str] = []
    supervisor = Supervisor(platform, say=said.append, clock=lambda: now[0], logs="var/logs")
    assert supervisor.tick() == []
    platform.dead["case_tracking"] = -9
    assert supervisor.tick() == ["case_tracking"]  # first crash: at once
    assert said == ["case_tracking exited with -9; starting it again now (log: var/logs)"]
    now[0] += 0.5
    platform.dead["case_tracking"] = 1  # and again, half a second later
    assert supervisor.tick() == []  # waits 1 s
    assert "in 1 s" in said[-1]
    now[0] += 0.5
    assert supervisor.tick() == []  # still due, not announced twice
    assert len(said) == 2
    now[0] += 0.6
    assert supervisor.tick() == ["case_tracking"]
    assert platform.respawned == ["case_tracking", "case_tracking"]


def test_a_port_with_a_listener_is_reported_and_a_free_one_is_not() -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            free = probe.getsockname()[1]
        assert taken_ports({"gateway": port, "nats": free}) == {"gateway": port}
