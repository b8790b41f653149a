"""Fault injection against the platform as processes: load, faults, reconciliation, the table.

Each scenario starts a fresh platform (`deploy.launcher.Platform`) in its own directory, files
reports through the gateway with bounded concurrency, strikes mid-burst, then reconciles from the
services' stores (SQLite files; PostgreSQL databases for scenario 8, see tests/chaos/pg.py):
every accepted report must end with a case link, exactly two tasks and, per task, one inbox
entry for the assignee and one for the duty desk.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import nats
import nats.errors
import nats.js.errors
from nats.js import JetStreamContext

from deploy.launcher import SERVICES, Platform, Ports
from shared.contracts.school import resident_id_check
from shared.events import Envelope
from shared.nats_auth import ADMIN
from tests.pgserver import PgServer

T = TypeVar("T")

CONCURRENCY = 16  # reports in flight
GIVE_UP_S = 60.0  # refused this long (or nothing accepted this long): "not accepted", not lost
SETTLE_S = 60.0  # bound on waiting until everything accepted is processed
POLL_S = 0.05
RECOVERY_TARGET_S = 10.0
MAX_DELIVER = 5
HOLD_S = 2.0  # how long school_liaison stays down (no reports are accepted meanwhile)
LOCK_S = 8.0  # how long the harness holds case_tracking's write lock (busy timeout: 5 s)
KIND, DESK = "task_assigned", "role:dispatcher"
RETRY_STATUS = frozenset({429, 502, 503, 504})  # a 500 is a bug, not something to wait out
_FAST = {"MAX_DELIVER": str(MAX_DELIVER), "RETRY_BASE_S": "0.1", "RETRY_CAP_S": "2"}
PLATFORM_ENV = {
    **{f"HULEI_{s.upper()}_{k}": v for s in SERVICES for k, v in _FAST.items()},
    # One partner filing at full speed: the gateway's per-client throttle is not under test.
    "HULEI_GATEWAY_RATE_PER_S": "1000",
    "HULEI_GATEWAY_RATE_BURST": "1000",
}

# Reconciliation reads. Tasks and inbox rows are never deleted and each file has one writer, so
# new rows are read incrementally by rowid; a report's case link is an update, so read it whole.
TASKS_SQL = (
    "SELECT rowid, id, json_extract(doc, '$.report_id'), json_extract(doc, '$.assignee_user_id'),"
    " json_extract(doc, '$.assignee_org_id') FROM tasks WHERE rowid > ? ORDER BY rowid"
)
INBOX_SQL = (
    "SELECT rowid, json_extract(doc, '$.task_id'), json_extract(doc, '$.recipient'),"
    " json_extract(doc, '$.kind') FROM inbox WHERE rowid > ?"
    # Task notices only: alerts (an unstaffed post, an overdue notice) have no task and are
    # many of one kind for the desk by design; their own id keeps each one single.
    " AND json_extract(doc, '$.task_id') IS NOT NULL ORDER BY rowid"
)
LINKED_SQL = "SELECT id FROM reports WHERE json_extract(doc, '$.case_id') IS NOT NULL"
DUE_TIMERS_SQL = "SELECT count(*) FROM timers WHERE json_extract(doc, '$.due') <= ?"


async def login(client: httpx.AsyncClient, user: str) -> dict[str, str]:
    r = await client.post("/v1/auth/token", data={"username": user, "password": "demo"})
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def poll(probe: Callable[[], Awaitable[T | None]], *, within: float) -> T | None:
    """Await `probe()` until it returns something truthy; None after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        if result := await probe():
            return result
        if time.monotonic() > deadline:
            return None
        await asyncio.sleep(POLL_S)  # poll interval of a bounded wait


class Load:
    """Files `total` reports as teacher1, CONCURRENCY in flight, retrying like a partner system."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.run_id = uuid.uuid4().hex[:8]
        self.accepted: list[str] = []  # report ids, in the order their 201 came
        self.refused: dict[int, str] = {}  # report number -> why it was never accepted
        self.retried: Counter[str] = Counter()  # transient answers that were retried
        self.finished, self.elapsed_s, self._next = False, 0.0, 0
        self._last_accepted = time.monotonic()
        self._progress = asyncio.Condition()

    async def run(self, client: httpx.AsyncClient) -> None:
        auth, start = await login(client, "teacher1"), time.monotonic()
        self._last_accepted = start
        try:
            await asyncio.gather(*(self._worker(client, auth) for _ in range(CONCURRENCY)))
        finally:
            self.finished, self.elapsed_s = True, time.monotonic() - start
            await self._notify()

    async def until_accepted(self, count: int, *, within: float = 120.0) -> None:
        """Wait (bounded) until `count` reports were accepted or the burst is over."""
        async with self._progress:
            done = lambda: len(self.accepted) >= count or self.finished  # noqa: E731
            async with asyncio.timeout(within):
                await self._progress.wait_for(done)

    async def _notify(self) -> None:
        async with self._progress:
            self._progress.notify_all()

    async def _worker(self, client: httpx.AsyncClient, auth: dict[str, str]) -> None:
        while self._next < self.total:
            self._next += 1
            await self._file(client, auth, self._next)

    def _id_number(self, n: int) -> str:
        """A resident ID number of this run's own (17 digits and their check digit)."""
        first = f"{int(self.run_id, 16) % 10**11:011d}{n:06d}"
        return first + resident_id_check(first)

    async def _file(self, client: httpx.AsyncClient, auth: dict[str, str], n: int) -> None:
        body = {
            "school_id": "sch-01",
            "category": "bullying_victim",
            "description": f"Chaos report {n}: money taken from him on the way home",
            "student": {"name": f"Chaos Child {n}", "id_number": self._id_number(n)},
        }
        headers = auth | {"Idempotency-Key": f"chaos-{self.run_id}-{n}"}
        started, backoff = time.monotonic(), 0.05
        while True:  # the same request, the same key, until accepted or given up
            try:
                r = await client.post("/v1/reports", json=body, headers=headers)
            except httpx.TransportError as exc:
                outcome, wait = type(exc).__name__, backoff
            else:
                if r.status_code == 201:
                    self.accepted.append(r.json()["id"])
                    self._last_accepted = time.monotonic()
                    return await self._notify()
                if r.status_code not in RETRY_STATUS:
                    self.refused[n] = f"HTTP {r.status_code}: {r.text[:200]}"
                    return
                outcome, after = f"HTTP {r.status_code}", r.headers.get("Retry-After", "")
                wait = min(2.0, float(after)) if after.isdigit() else backoff
            self.retried[outcome] += 1
            now = time.monotonic()
            if now - min(started, self._last_accepted) > GIVE_UP_S:
                self.refused[n] = f"gave up after {GIVE_UP_S:.0f}s (last: {outcome})"
                return
            await asyncio.sleep(wait)  # the partner's retry backoff (or the server's Retry-After)
            backoff = min(1.0, backoff * 2)


class Ledger:
    """What the services' SQLite files say about the reports, read-only."""

    def __init__(self, var_dir: Path) -> None:
        self._var_dir = var_dir
        self._conns: dict[str, sqlite3.Connection] = {}
        self._lock = asyncio.Lock()
        self._last = {"tasks": 0, "inbox": 0}
        self.linked: set[str] = set()  # reports that know their case
        self.tasks: dict[str, dict[str, str]] = defaultdict(dict)  # report -> task -> assignee
        self.notices: Counter[tuple[str, ...]] = Counter()  # (task, recipient, kind) -> rows

    def _rows(self, service: str, sql: str, *params: object) -> list[tuple[Any, ...]]:
        try:
            if service not in self._conns:
                uri = f"file:{self._var_dir / f'{service}.db'}?mode=ro"
                self._conns[service] = sqlite3.connect(uri, uri=True, check_same_thread=False)
            return self._conns[service].execute(sql, params).fetchall()
        except sqlite3.OperationalError:
            return []  # no such table yet, or the file is being recovered: next poll

    async def refresh(self) -> None:
        async with self._lock:
            await asyncio.to_thread(self._refresh)

    def _refresh(self) -> None:
        for rowid, task, report, user, org in self._rows(
            "case_tracking", TASKS_SQL, self._last["tasks"]
        ):
            self._last["tasks"] = rowid
            self.tasks[report][task] = f"user:{user}" if user else f"org:{org}"
        for rowid, *notice in self._rows("notifications", INBOX_SQL, self._last["inbox"]):
            self._last["inbox"] = rowid
            self.notices[tuple(notice)] += 1
        self.linked.update(row[0] for row in self._rows("school_liaison", LINKED_SQL))

    def processed(self, report_id: str) -> bool:
        """Case link, two tasks, and for each the assignee's and the desk's inbox entry."""
        tasks = self.tasks.get(report_id, {})
        told = all(
            self.notices[(t, who, KIND)] and self.notices[(t, DESK, KIND)]
            for t, who in tasks.items()
        )
        return report_id in self.linked and len(tasks) >= 2 and told

    async def wait_processed(self, report_ids: list[str], *, within: float) -> bool:
        pending = list(report_ids)

        async def all_done() -> bool:
            nonlocal pending
            await self.refresh()
            pending = [r for r in pending if not self.processed(r)]
            return not pending

        return bool(await poll(all_done, within=within))

    async def due_timers(self) -> int:
        """case_tracking's timers past their due time, not fired yet (shared/timers.py)."""
        async with self._lock:
            rows = await asyncio.to_thread(self._rows, "case_tracking", DUE_TIMERS_SQL, time.time())
        return int(rows[0][0]) if rows else 0

    def duplicates(self) -> tuple[int, int]:
        """(tasks beyond two per report, (task, recipient, kind) groups with more than one row)"""
        tasks = sum(max(0, len(t) - 2) for t in self.tasks.values())
        return tasks, sum(1 for rows in self.notices.values() if rows > 1)

    async def close(self) -> None:
        for conn in self._conns.values():
            conn.close()


@asynccontextmanager
async def jetstream(platform: Platform) -> AsyncIterator[JetStreamContext]:
    nc = await nats.connect(
        servers=platform.nats_url.split(","), connect_timeout=5, **platform.credentials(ADMIN)
    )
    try:
        yield nc.jetstream(timeout=5)
    finally:
        await nc.close()


async def last_message(js: JetStreamContext, stream: str, subject: str) -> Any:
    try:
        return await js.get_last_msg(stream, subject)
    except nats.js.errors.NotFoundError:
        return None


@dataclass
class Run:
    """What a fault scenario works with while the burst goes on."""

    platform: Platform
    load: Load
    ledger: Ledger
    client: httpx.AsyncClient
    problems: list[str] = field(default_factory=list)
    recoveries: list[asyncio.Task[float | None]] = field(default_factory=list)
    postgres: PgServer | None = None  # the server every process stores in (scenario 8)

    async def at(self, k: int, of: int) -> None:
        """Wait until k/of of the burst is accepted."""
        await self.load.until_accepted(self.load.total * k // of)

    async def outage(
        self,
        name: str,
        *,
        at: tuple[int, int],
        until: tuple[int, int] | float,
        graceful: bool = False,
    ) -> None:
        """kill -9 (or SIGTERM, `graceful`) `name` once `at` of the burst is accepted; start it
        again once `until` of it is (or after `until` seconds on the monotonic clock, while the
        load keeps retrying)."""
        await self.at(*at)
        stop = self.platform.stop_process if graceful else self.platform.kill
        await asyncio.to_thread(stop, name)
        if isinstance(until, tuple):
            await self.at(*until)
        else:
            await asyncio.sleep(until)  # the fault's duration; the load goes on meanwhile
        if name in self.platform.nats_names:
            await asyncio.to_thread(self.platform.start_nats, self.platform.nats_names.index(name))
        else:
            await asyncio.to_thread(self.platform.start_process, name)
        self.fault_ended()

    def fault_ended(self) -> None:
        """Start the clock: until every report accepted so far is fully processed."""
        report_ids, start = list(self.load.accepted), time.monotonic()

        async def recovered() -> float | None:
            done = await self.ledger.wait_processed(report_ids, within=SETTLE_S)
            return time.monotonic() - start if done else None

        self.recoveries.append(asyncio.create_task(recovered()))

    def expect(self, ok: object, problem: str) -> None:
        if not ok:
            self.problems.append(problem)

    def expect_in_log(self, name: str, text: str) -> None:
        """Evidence that the fault really struck (otherwise the row proves nothing)."""
        log = (self.platform.var_dir / "logs" / f"{name}.log").read_text(errors="replace")
        self.expect(text in log, f"no {text!r} in {name}.log: did the fault strike?")


async def kill_case_tracking(run: Run) -> None:
    await run.outage("case_tracking", at=(1, 3), until=(2, 3))


async def stop_case_tracking_gracefully(run: Run) -> None:
    await run.outage("case_tracking", at=(1, 3), until=(2, 3), graceful=True)
    run.expect_in_log("case_tracking", "Application shutdown complete")


async def kill_notifications_then_school_liaison(run: Run) -> None:
    await run.outage("notifications", at=(1, 5), until=(2, 5))
    await run.outage("school_liaison", at=(3, 5), until=HOLD_S)  # nothing is accepted meanwhile
    run.expect(run.load.retried["HTTP 503"], "no 503 while school_liaison was down")


async def restart_nats(run: Run) -> None:
    await run.outage("nats", at=(1, 3), until=(2, 3))  # reports still accepted: outbox
    run.expect_in_log("case_tracking", "nats disconnected")


async def kill_a_cluster_node(run: Run) -> None:
    async with jetstream(run.platform) as js:  # kill the node leading the report stream
        info = await js.stream_info("SCHOOL")
    replicas = info.config.num_replicas
    run.expect(replicas == 3, f"the SCHOOL stream has {replicas} replica(s), not 3")
    await run.outage(str(info.cluster and info.cluster.leader), at=(1, 3), until=(2, 3))


async def poison_event(run: Run) -> None:
    await run.at(1, 2)
    poison = Envelope(
        type="school.report.filed",
        version=1,
        source="school_liaison",  # its owner: a wrong source would be dead-lettered at once
        subject="poison",
        correlation_id=f"chaos-poison-{run.load.run_id}",
        data={"report_id": "poison"},  # fails ReportFiled validation on every delivery
    )
    async with jetstream(run.platform) as js:
        headers = {"Nats-Msg-Id": poison.id}
        await js.publish(poison.nats_subject, poison.model_dump_json().encode(), headers=headers)
        run.fault_ended()
        subject = "deadletter.case_tracking-school"
        dead = await poll(lambda: last_message(js, "DEADLETTER", subject), within=30)
        # the consumer publishes the alert just after the dead letter: wait for it too
        alert = await poll(lambda: last_message(js, "OPS", "ops.dead_lettered.v1"), within=10)
    if dead is None:
        return run.expect(False, "the poison event never reached the DEADLETTER stream")
    run.expect(json.loads(dead.data)["id"] == poison.id, "the dead letter is not the poison event")
    deliveries = (dead.headers or {}).get("Hulei-Deliveries")
    run.expect(deliveries == str(MAX_DELIVER), f"dead-lettered after {deliveries} deliveries")
    alerted = alert is not None and json.loads(alert.data)["data"]["event_id"] == poison.id
    run.expect(alerted, "no ops.dead_lettered.v1 event about the poison in the OPS stream")
    desk = await login(run.client, "dispatcher1")

    async def desk_told() -> bool:
        r = await run.client.get("/v1/notifications", params={"limit": 500}, headers=desk)
        return r.status_code == 200 and any(n["kind"] == "dead_lettered" for n in r.json())

    told = await poll(desk_told, within=10)
    run.expect(told, "dispatcher1 has no 'dead_lettered' entry in GET /v1/notifications")


async def lock_case_tracking_store(run: Run) -> None:
    await run.at(1, 3)
    path = run.platform.var_dir / "case_tracking.db"
    conn = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
    try:
        await asyncio.to_thread(conn.execute, "BEGIN EXCLUSIVE")  # the write lock
        await asyncio.sleep(LOCK_S)  # the fault's duration on the monotonic clock; load goes on
        await asyncio.to_thread(conn.execute, "ROLLBACK")
    finally:
        conn.close()
    run.fault_ended()
    run.expect_in_log("case_tracking", "database is locked")


async def escalations(js: JetStreamContext) -> Counter[tuple[str, str]]:
    """(task, level) → task.escalated.v1 events in the CASES stream, read by an ephemeral
    consumer."""
    sub = await js.pull_subscribe("task.escalated.v1", stream="CASES")
    found: Counter[tuple[str, str]] = Counter()
    try:
        while True:
            try:
                batch = await sub.fetch(500, timeout=1.0)
            except nats.errors.TimeoutError:
                return found
            for msg in batch:
                data = json.loads(msg.data)["data"]
                found[(data["task_id"], data["level"])] += 1
                # Unacknowledged, a pull consumer is sent at most 1000 (its max_ack_pending):
                # 300 reports make 1200 escalations, and the rest went uncounted.
                await msg.ack()
    finally:
        await sub.unsubscribe()


async def kill_case_tracking_while_escalations_are_due(run: Run) -> None:
    """Deadlines scaled (ESCALATION_ENV) so that the burst's tasks go unacknowledged past their
    desk and supervisor deadlines while case_tracking is down: its timers fall due in its store
    with nobody to fire them, and every escalation happens once, none lost, none doubled."""
    await run.at(1, 3)
    await asyncio.to_thread(run.platform.kill, "case_tracking")
    await run.at(2, 3)
    async with jetstream(run.platform) as js:
        due = await poll(run.ledger.due_timers, within=10)
        run.expect(due, "no timer came due while it was down")
        await asyncio.to_thread(run.platform.start_process, "case_tracking")
        run.fault_ended()
        await run.at(3, 3)
        await run.ledger.wait_processed(run.load.accepted, within=SETTLE_S)
        tasks = [t for r in run.load.accepted for t in run.ledger.tasks.get(r, {})]
        wanted = [(t, level) for t in tasks for level in ("desk", "supervisor")]

        async def all_escalated() -> Counter[tuple[str, str]] | None:
            counts = await escalations(js)
            return counts if all(counts[k] for k in wanted) else None

        counts = await poll(all_escalated, within=SETTLE_S) or await escalations(js)
    missing = sum(1 for k in wanted if not counts[k])
    doubled = sum(1 for k in wanted if counts[k] > 1)
    run.expect(tasks, "no tasks to escalate")
    run.expect(missing == 0, f"{missing} of {len(wanted)} escalations never happened")
    run.expect(doubled == 0, f"{doubled} of {len(wanted)} escalations happened twice")


async def restart_postgres(run: Run) -> None:
    """Every process loses its store at once: an immediate shutdown (no checkpoint), down for
    HOLD_S while the load keeps filing, then the server starts again and recovers."""
    await run.at(1, 3)
    assert run.postgres is not None
    await asyncio.to_thread(run.postgres.stop, mode="immediate")
    await asyncio.sleep(HOLD_S)  # the fault's duration on the monotonic clock; load goes on
    await asyncio.to_thread(run.postgres.start_again)
    run.fault_ended()
    run.expect(run.load.retried["HTTP 503"], "no 503 while PostgreSQL was down")


@dataclass(frozen=True)
class Scenario:
    number: int
    title: str
    inject: Callable[[Run], Awaitable[None]]
    nats_nodes: int = 1
    dead_letters: int = 0
    store: str = "sqlite"
    env: dict[str, str] = field(default_factory=dict)


# A high-risk task (the burst's bullying reports) is to be acknowledged within 30 min: 1.8 s
# here, the supervisor told at 3.6 s, a police task overdue at 14.4 s.
ESCALATION_ENV = {"HULEI_CASE_TRACKING_DEADLINE_SCALE": "0.001"}


SCENARIOS = {
    s.number: s
    for s in (
        Scenario(1, "kill -9 case_tracking", kill_case_tracking),
        Scenario(
            2, "kill -9 notifications, school_liaison", kill_notifications_then_school_liaison
        ),
        Scenario(3, "restart NATS (single node)", restart_nats),
        Scenario(4, "kill a node of a 3-node cluster", kill_a_cluster_node, nats_nodes=3),
        Scenario(5, "poison event", poison_event, dead_letters=1),
        Scenario(6, "store locked for 8 s", lock_case_tracking_store),
        Scenario(7, "SIGTERM case_tracking (drain)", stop_case_tracking_gracefully),
        Scenario(8, "restart PostgreSQL (every store)", restart_postgres, store="postgres"),
        Scenario(
            9,
            "kill -9 case_tracking, escalations due",
            kill_case_tracking_while_escalations_are_due,
            env=ESCALATION_ENV,
        ),
    )
}


@dataclass
class Row:
    number: int
    title: str
    attempted: int
    accepted: int = 0
    lost: int = 0
    dup_tasks: int = 0
    dup_notices: int = 0
    dead_lettered: int = 0
    recover_s: float | None = None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def misses(self) -> list[str]:
        """Every way this row misses the targets; empty when it meets them all."""
        dead, refused = SCENARIOS[self.number].dead_letters, self.attempted - self.accepted
        slow = self.recover_s is None or self.recover_s > RECOVERY_TARGET_S
        recover = "-" if self.recover_s is None else f"{self.recover_s:.1f}s"
        checks = {
            f"{self.lost} accepted reports lost": self.lost,
            f"{self.dup_tasks} duplicate tasks": self.dup_tasks,
            f"{self.dup_notices} duplicate notifications": self.dup_notices,
            f"{refused} reports not accepted": refused,
            f"{self.dead_lettered} dead-lettered, expected {dead}": self.dead_lettered != dead,
            f"recovery: {recover}, target {RECOVERY_TARGET_S:.0f}s": slow,
        }
        return self.problems + [message for message, failed in checks.items() if failed]

    def cells(self) -> list[str]:
        figures = [self.accepted, self.lost, self.dup_tasks, self.dup_notices, self.dead_lettered]
        recover = "-" if self.recover_s is None else f"{self.recover_s:.2f}"
        result = "MISS" if self.misses() else "ok"
        return [f"{self.number}. {self.title}", *map(str, figures), recover, result]


async def _drive(
    platform: Platform, scenario: Scenario, total: int, postgres: PgServer | None
) -> Row:
    row = Row(scenario.number, scenario.title, total)
    from tests.chaos.pg import PgLedger  # it builds on Ledger

    load = Load(total)
    ledger = Ledger(platform.var_dir) if postgres is None else PgLedger(platform.extra_env)
    limits = httpx.Limits(max_connections=CONCURRENCY + 4)
    client = httpx.AsyncClient(base_url=platform.gateway_url, timeout=10.0, limits=limits)
    try:
        run = Run(platform, load, ledger, client, row.problems, postgres=postgres)
        burst = asyncio.create_task(load.run(client))
        try:
            await scenario.inject(run)
        except Exception as exc:
            run.problems.append(f"fault injection failed: {exc!r}")
        finally:
            await burst
        await ledger.wait_processed(load.accepted, within=SETTLE_S)
        recoveries = [await task for task in run.recoveries]
        async with jetstream(platform) as js:
            row.dead_lettered = (await js.stream_info("DEADLETTER")).state.messages or 0
    finally:
        await client.aclose()
        await ledger.close()
    row.accepted = len(load.accepted)
    row.lost = sum(1 for report_id in load.accepted if not ledger.processed(report_id))
    row.dup_tasks, row.dup_notices = ledger.duplicates()
    measured = [s for s in recoveries if s is not None]
    row.recover_s = max(measured) if measured and len(measured) == len(recoveries) else None
    shown = ", ".join("-" if s is None else f"{s:.2f}s" for s in recoveries)
    row.notes.append(f"burst took {load.elapsed_s:.1f}s; recovery after each fault: {shown}")
    row.notes += [f"retried: {dict(load.retried)}"] if load.retried else []
    row.notes += [f"report {n}: {why}" for n, why in list(load.refused.items())[:5]]
    return row


def run_scenario(number: int, reports: int, base_dir: Path) -> Row:
    """One scenario on a fresh platform under `base_dir/scenario-<n>`; always stopped after."""
    from tests.chaos.pg import postgres_for

    scenario = SCENARIOS[number]
    var_dir = base_dir / f"scenario-{number}"
    with postgres_for(scenario.store) as (postgres, store_env):
        platform = Platform(
            var_dir,
            Ports.free(),
            nats_nodes=scenario.nats_nodes,
            extra_env=PLATFORM_ENV | store_env | scenario.env,
        )
        try:
            platform.start()
            return asyncio.run(_drive(platform, scenario, reports, postgres))
        finally:
            platform.stop()


HEADER = ("accepted", "lost", "dup tasks", "dup notifications", "dead-lettered", "recover s")


def table(rows: list[Row]) -> str:
    """The rows as a fixed-width table: the scenario left-aligned, the figures right-aligned."""

    def line(first: str, *rest: str) -> str:
        widths = [len(h) for h in (*HEADER, "result")]
        return "  ".join(
            [first.ljust(44), *(c.rjust(w) for c, w in zip(rest, widths, strict=True))]
        )

    header = line("scenario", *HEADER, "result")
    return "\n".join([header, "-" * len(header), *(line(*r.cells()) for r in rows)])
