"""`make run` keeps the platform up: a process that dies is started again, with backoff.

As Kubernetes restarts a crashed container: at once the first time, then after 1, 2, 4 … s up
to 30 s while it keeps dying; a process that has stayed up for a minute starts the count
again. Each restart is said on the console, with the exit code and where the log is. The
decision is pure (`Backoff`, clock injected); `Supervisor` applies it to the launcher's
processes.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

BASE_S = 1.0
CAP_S = 30.0
STABLE_S = 60.0  # up this long: the next crash is a first crash again


@dataclass
class Backoff:
    """When to start a process again after its `crashes`-th crash in a row."""

    base_s: float = BASE_S
    cap_s: float = CAP_S
    stable_s: float = STABLE_S
    crashes: int = 0
    started_at: float = 0.0

    def started(self, now: float) -> None:
        self.started_at = now

    def died(self, now: float) -> float:
        """The delay before the next start (0 for a crash after a stable run)."""
        if now - self.started_at >= self.stable_s:
            self.crashes = 0
        self.crashes += 1
        if self.crashes == 1:
            return 0.0
        return float(min(self.cap_s, self.base_s * 2.0 ** (self.crashes - 2)))


class Supervised(Protocol):
    """What the supervisor needs of the launcher's Platform."""

    def exited(self) -> dict[str, int]: ...

    def respawn(self, name: str) -> None: ...


@dataclass
class Supervisor:
    platform: Supervised
    say: Callable[[str], None] = print
    clock: Callable[[], float] = time.monotonic
    logs: str = "var/logs"
    _backoff: dict[str, Backoff] = field(default_factory=dict)
    _due: dict[str, float] = field(default_factory=dict)  # name → when to start it again

    def tick(self) -> list[str]:
        """Notice deaths, start what is due; the names started again in this tick."""
        now = self.clock()
        for name, code in self.platform.exited().items():
            if name in self._due:
                continue
            delay = self._backoff.setdefault(name, Backoff()).died(now)
            self._due[name] = now + delay
            when = "now" if delay == 0 else f"in {delay:g} s"
            self.say(f"{name} exited with {code}; starting it again {when} (log: {self.logs})")
        restarted = [name for name, due in self._due.items() if due <= now]
        for name in restarted:
            del self._due[name]
            self.platform.respawn(name)
            self._backoff[name].started(now)
        return restarted


def taken_ports(ports: dict[str, int]) -> dict[str, int]:
    """The ones among `ports` (what → port) that another program already holds on 127.0.0.1."""
    taken = {}
    for what, port in ports.items():
        with socket.socket() as s:
            # As the servers bind: a port in TIME_WAIT is free, one with a listener is not.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                taken[what] = port
    return taken
