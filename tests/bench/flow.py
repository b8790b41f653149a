"""The platform under load: reports filed through the gateway, followed to their tasks and inbox
entries by the services' own timestamps, read read-only from their SQLite files (no audited
polling through the gateway, which would load what it measures)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from deploy.launcher import Platform
from tests.bench.client import Load, Pool, closed_loop, open_loop, request_bytes
from tests.bench.cpu import count, cpu_seconds
from tests.bench.floors import report_body

TASKS_PER_REPORT = 2  # one police, one social-work task
INBOX_PER_REPORT = 4  # each task: its assignee and the duty desk


def _rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return conn.execute(sql).fetchall()


@dataclass
class Outcome:
    """Where one accepted report got to, by the services' clocks (ms after its filed_at)."""

    tasks: int = 0
    inbox: int = 0
    tasks_ms: float | None = None
    inbox_ms: float | None = None


def follow(var: Path, report_ids: list[str]) -> dict[str, Outcome]:
    """Each report's tasks and inbox entries, and when the last of each was created."""
    wanted = set(report_ids)
    filed = {
        rid: datetime.fromisoformat(at)
        for rid, at in _rows(
            var / "school_liaison.db", "SELECT id, json_extract(doc, '$.filed_at') FROM reports"
        )
        if rid in wanted
    }
    task_of: dict[str, str] = {}
    last_task: dict[str, datetime] = {}
    out = {rid: Outcome() for rid in report_ids}
    for tid, rid, at in _rows(
        var / "case_tracking.db",
        "SELECT id, json_extract(doc, '$.report_id'), json_extract(doc, '$.created_at') FROM tasks",
    ):
        if rid in wanted:
            task_of[tid] = rid
            out[rid].tasks += 1
            moment = datetime.fromisoformat(at)
            last_task[rid] = max(last_task.get(rid, moment), moment)
    last_entry: dict[str, datetime] = {}
    for tid, at in _rows(
        var / "notifications.db",
        "SELECT json_extract(doc, '$.task_id'), json_extract(doc, '$.created_at') FROM inbox "
        "WHERE json_extract(doc, '$.task_id') IS NOT NULL",
    ):
        rid = task_of.get(tid)
        if rid is not None:
            out[rid].inbox += 1
            moment = datetime.fromisoformat(at)
            last_entry[rid] = max(last_entry.get(rid, moment), moment)
    for rid, outcome in out.items():
        if rid in filed and outcome.tasks == TASKS_PER_REPORT:
            outcome.tasks_ms = (last_task[rid] - filed[rid]).total_seconds() * 1000
        if rid in filed and outcome.inbox == INBOX_PER_REPORT:
            outcome.inbox_ms = (last_entry[rid] - filed[rid]).total_seconds() * 1000
    return out


@dataclass
class Bench:
    """The running platform and every report it accepted during the bench."""

    platform: Platform
    accepted: list[str] = field(default_factory=list)
    # A process's rows in a table; None: read from its SQLite file (tests/bench/pgstore.py
    # reads them on PostgreSQL).
    counter: Callable[[str, str], int] | None = None
    _pool: Pool | None = None
    _token: tuple[float, str] | None = None

    def __post_init__(self) -> None:
        self.var = self.platform.var_dir
        self.base_tasks = self.count("case_tracking", "tasks")
        self.base_inbox = self.count("notifications", "inbox")

    def count(self, process: str, table: str) -> int:
        if self.counter is not None:
            return self.counter(process, table)
        return count(self.var / f"{process}.db", table)

    @property
    def pids(self) -> dict[str, int]:
        return {name: proc.pid for name, proc in self.platform.procs.items()}

    def cpu(self) -> dict[str, float]:
        return {name: cpu_seconds([pid]) for name, pid in self.pids.items()}

    async def headers(self) -> dict[str, str]:
        """teacher1's token, minted again after 10 min (it lives 15): logins hash a password,
        which is slow on a loaded machine and not what is measured."""
        if self._token is None or time.monotonic() - self._token[0] > 600:
            async with httpx.AsyncClient(base_url=self.platform.gateway_url, timeout=120) as http:
                r = await http.post(
                    "/v1/auth/token", data={"username": "teacher1", "password": "demo"}
                )
                r.raise_for_status()
            self._token = (time.monotonic(), r.json()["access_token"])
        return {"Authorization": f"Bearer {self._token[1]}"}

    def _pool_for_gateway(self) -> Pool:
        if self._pool is None:
            self._pool = Pool("127.0.0.1", self.platform.ports.gateway)
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()

    def _keep(self, load: Load) -> Load:
        self.accepted += [json.loads(body)["id"] for body in load.bodies]
        return load

    async def closed(self, *, concurrency: int, duration_s: float, tag: str) -> Load:
        headers = await self.headers()
        return self._keep(
            await closed_loop(
                self._pool_for_gateway(),
                lambda n: request_bytes("/v1/reports", report_body(n, tag=tag), headers=headers),
                concurrency=concurrency,
                duration_s=duration_s,
            )
        )

    async def open(self, *, rate: float, duration_s: float, tag: str) -> Load:
        headers = await self.headers()
        return self._keep(
            await open_loop(
                self._pool_for_gateway(),
                lambda n: request_bytes("/v1/reports", report_body(n, tag=tag), headers=headers),
                rate=rate,
                duration_s=duration_s,
            )
        )

    def done(self) -> bool:
        """Every accepted report has (by count) its tasks and inbox entries."""
        n = len(self.accepted)
        return (
            self.count("case_tracking", "tasks") >= self.base_tasks + TASKS_PER_REPORT * n
            and self.count("notifications", "inbox") >= self.base_inbox + INBOX_PER_REPORT * n
        )

    async def drain(self, *, within_s: float) -> float | None:
        """Seconds until the platform has caught up with every accepted report (None: not
        within `within_s`, the backlog is still there)."""
        started = time.monotonic()
        while not self.done():
            if time.monotonic() - started > within_s:
                return None
            await asyncio.sleep(0.05)  # a bounded poll of two read-only counts
        return time.monotonic() - started
