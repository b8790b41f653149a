"""Test helpers: bounded polling instead of sleeps, and a gateway client for the demo users."""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from fastapi import FastAPI
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from shared.contracts.school import resident_id_check
from shared.identity import Principal, Role, mint_internal_token

T = TypeVar("T")
StoreUrl = Callable[[str], Awaitable[str]]
# Settings fields that make a process connect to NATS as the named identity.
NatsLogin = Callable[[str], dict[str, Any]]


async def eventually(
    probe: Callable[[], Awaitable[T | None]], *, within: float = 5.0, interval: float = 0.02
) -> T:
    """Await `probe()` until it returns something truthy (so never None); fail after `within`
    seconds."""
    deadline = time.monotonic() + within
    last: T | None = None
    while True:
        last = await probe()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within}s (last value: {last!r})")
        await asyncio.sleep(interval)  # poll interval of a bounded wait, not a fixed delay


async def consumer_settled(
    js: JetStreamContext, stream: str, durable: str, *, delivered: int = 1
) -> bool:
    """`durable` has been sent at least `delivered` messages and has none waiting or
    unacknowledged. "Nothing waiting, nothing unacknowledged" alone is not that: a consumer_info
    that races the durable's creation (`consume()` declares it in the background) can report
    both 0 with the whole backlog behind it (seen in CI: 96 events waiting, none handled yet)."""
    try:
        info = await js.consumer_info(stream, durable)
    except NotFoundError:
        return False  # not declared yet
    sent = info.delivered.consumer_seq or 0
    return bool(sent >= delivered and info.num_pending == 0 and info.num_ack_pending == 0)


def eventually_sync(
    probe: Callable[[], T | None], *, within: float = 5.0, interval: float = 0.02
) -> T:
    """`eventually` for a test that calls the platform synchronously (a generated client)."""
    deadline = time.monotonic() + within
    while True:
        last = probe()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within}s (last value: {last!r})")
        time.sleep(interval)  # poll interval of a bounded wait, not a fixed delay


def proc_stat(pid: int | str) -> list[str]:
    """The fields of /proc/<pid>/stat after the command's name (which may hold spaces): [0] is
    the state, [1] the parent, [11] and [12] user and system CPU in clock ticks, [19] the start
    time. OSError when there is no such process."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def required(present: object, missing: str) -> None:
    """A tool a test needs: skipped where this machine lacks it, failed under CI, which must
    run every suite it has the tools for (the project's `make install` provides them)."""
    if present:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(missing)
    pytest.skip(missing)


@pytest.fixture(
    name="store_backend",
    params=["sqlite", "postgres", *(["mongo"] if os.environ.get("MONGODB_URL") else [])],
)
def every_store(request: pytest.FixtureRequest) -> str:
    """Import into a test module to run its tests on every store: SQLite, PostgreSQL, and
    MongoDB where MONGODB_URL points at a replica set (there is no server here)."""
    return str(request.param)


# One demo account per role.
USER_OF = {
    Role.teacher: "teacher1",
    Role.school_safety_lead: "safety1",
    Role.police_officer: "officer1",
    Role.social_worker: "social1",
    Role.dispatcher: "dispatcher1",
    Role.supervisor: "supervisor1",
    Role.auditor: "auditor1",
    Role.admin: "admin1",
    Role.grid_worker: "grid1",
    Role.safety_volunteer: "volunteer1",
}


def resident_id(n: int) -> str:
    """A resident ID number of its own for the n-th child: 17 digits and their check digit."""
    first = f"14050220100101{n % 1000:03d}"
    return first + resident_id_check(first)


REPORT: dict[str, Any] = {
    "school_id": "sch-01",
    "category": "bullying_victim",
    "description": "Money taken from him on the way home, twice this week",
    "student": {"name": "Li Ming", "id_number": "14050220100101567X"},
}


class Gateway:
    def __init__(self, client: httpx.AsyncClient, apps: dict[str, FastAPI]) -> None:
        self.client = client
        self.apps = apps
        self._tokens: dict[str, str] = {}

    async def auth(self, user: str, password: str = "demo") -> dict[str, str]:
        if user not in self._tokens:
            r = await self.client.post(
                "/v1/auth/token", data={"username": user, "password": password}
            )
            r.raise_for_status()
            self._tokens[user] = r.json()["access_token"]
        return {"Authorization": f"Bearer {self._tokens[user]}"}

    async def get(self, user: str, path: str, **params: Any) -> httpx.Response:
        return await self.client.get(path, params=params, headers=await self.auth(user))

    async def call(
        self, user: str, method: str, path: str, *, json: Any = None, params: Any = None
    ) -> httpx.Response:
        headers = await self.auth(user)
        return await self.client.request(method, path, json=json, params=params, headers=headers)

    async def file(self, user: str, body: dict[str, Any], key: str | None = None) -> httpx.Response:
        headers = await self.auth(user)
        if key:
            headers["Idempotency-Key"] = key
        return await self.client.post("/v1/reports", json=body, headers=headers)

    def store(self, service: str) -> Any:
        return self.apps[service].state.runtime.store

    def internal_token(self, who: Principal, *, service: str) -> str:
        """What the gateway would send `service` for `who` (for calling a service directly)."""
        key = self.apps["gateway"].state.settings.signing_key
        return mint_internal_token(who, key=key, service=service)

    async def tasks_of(
        self, report_id: str, expected: int, *, reader: str = "teacher1"
    ) -> list[dict[str, Any]]:
        """Wait until the report is linked to a case with `expected` tasks; return them."""

        async def probe() -> list[dict[str, Any]]:
            report = (await self.get(reader, f"/v1/reports/{report_id}")).json()
            if not report["case_id"]:
                return []
            tasks = (await self.get("dispatcher1", "/v1/tasks", case_id=report["case_id"])).json()
            return tasks if len(tasks) >= expected else []

        return await eventually(probe)


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one Prometheus sample, matched by name and a subset of its labels."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None
