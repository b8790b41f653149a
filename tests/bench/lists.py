"""List and case-read benchmark: a store of a city's size, then time each list page.

    python -m tests.bench.lists                # 100 k cases, 200 k tasks, 1 M inbox and audit
    python -m tests.bench.lists --cases 2000 --inbox 20000 --requests 20   # a smoke run
    python -m tests.bench.lists --dir D --reuse --only "gateway /v1/"      # some rows, D's stores

Seeds the SQLite files directly (one executemany per table in one transaction, before the
services start, so their migrations build the indexes as an upgrade would; the gateway's audit
trail as many entries as the inbox), starts NATS and
the four services and the gateway in-process (ASGI, no network), and reports p50/p99 per page
of every list endpoint, first pages and pages followed through `Link: rel="next"`, and of
`GET /cases/{id}`. Services are called directly with an internal token (what the gateway
forwards); a few rows go through the gateway to show its share. Not a test: nothing here
asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from deploy.launcher import Platform, Ports
from gateway.app import create_app as gateway_app
from gateway.demo import USERS
from gateway.settings import Settings as GatewaySettings
from services.case_tracking.app import create_app as case_tracking_app
from services.case_tracking.settings import Settings as CaseSettings
from services.case_tracking.store import chronology_row
from services.notifications.app import create_app as notifications_app
from services.notifications.settings import Settings as NotificationSettings
from services.patrol.app import create_app as patrol_app
from services.patrol.settings import Settings as PatrolSettings
from services.school_liaison.app import create_app as school_app
from services.school_liaison.demo import SCHOOLS
from services.school_liaison.settings import Settings as SchoolSettings
from shared.events import stored_time
from shared.identity import Principal, mint_internal_token
from shared.nats_auth import REPLAYER
from shared.serve import freeze_startup_objects
from shared.store import codec
from shared.web import INTERNAL_HEADER

CATEGORIES = {  # category: (police kind, social kind); home visits become welfare checks
    "self_harm": ("home_visit", "crisis_counselling"),
    "bullying_victim": ("school_visit", "counselling"),
    "truancy": ("home_visit", "family_work"),
    "internet_addiction": ("guardian_talk", "counselling"),
    "psychological_distress": ("welfare_check", "counselling"),
    "family_problem": ("home_visit", "family_work"),
}
RISKS = ("low", "medium", "high", "critical")
START = datetime(2025, 11, 1, tzinfo=UTC)
# Inbox shares: the duty desk hears of everything, officers and organisations of their own.
RECIPIENTS = [("role:dispatcher", 40)]
RECIPIENTS += [(f"user:officer{k}", 4) for k in range(1, 8)]
RECIPIENTS += [(f"org:{org}", 9) for org in ("org-rainbow", "org-sunflower", "org-harbour")]
RECIPIENTS += [("role:supervisor", 3), ("role:admin", 1), ("user:dispatcher1", 1)]


def _table(db: sqlite3.Connection, name: str, rows: list[tuple[str, str]]) -> None:
    db.execute(f"CREATE TABLE IF NOT EXISTS {name} (id TEXT PRIMARY KEY, doc TEXT NOT NULL)")
    db.executemany(f"INSERT INTO {name} (id, doc) VALUES (?, ?)", rows)  # noqa: S608 - ours


def dump(doc: dict[str, Any]) -> tuple[str, str]:
    """A seeded row as the store writes it (id, document text)."""
    return doc["id"], codec.encode(doc)


def inbox_entry(rng: random.Random, n: int, *, inbox: int) -> dict[str, Any]:
    """The n-th of `inbox` entries, a year's worth: recipients in their RECIPIENTS shares,
    read except the newest twentieth and a few forgotten ones."""
    names, weights = zip(*RECIPIENTS, strict=True)
    now = START + timedelta(days=365) / max(inbox, 1) * n
    recipient = rng.choices(names, weights)[0]
    return {
        "id": f"ntf-{rng.getrandbits(128):032x}-{recipient}",
        "recipient": recipient,
        "kind": "task_assigned",
        "title": "[high] Home visit for the child",
        "case_id": f"case-{rng.getrandbits(128):032x}",
        "task_id": f"task-{rng.getrandbits(128):032x}",
        "due_at": stored_time(now + timedelta(hours=4)),
        "created_at": stored_time(now),
        "read_at": None if n > inbox * 0.95 or rng.random() < 0.01 else stored_time(now),
    }


# The trail's shares: most requests are allowed reads; a few are refused, very few fail.
AUDIT_ACTIONS = [("read", 70), ("create", 12), ("update", 12), ("export", 2), ("login", 4)]
AUDIT_OUTCOMES = [("allowed", 96.99), ("denied", 2), ("not_found", 1), ("error", 0.01)]
AUDIT_ACTORS = [u.username for u in USERS]


def audit_entry(rng: random.Random, n: int, *, entries: int) -> dict[str, Any]:
    """The n-th of `entries` audit entries, a year's worth, of a chain of its own (listed, not
    verified: no MAC), by the demo users and many partner clients."""
    now = START + timedelta(days=365) / max(entries, 1) * n
    actor = rng.choice(AUDIT_ACTORS) if rng.random() < 0.5 else f"client:partner-{n % 400}"
    action = rng.choices(*zip(*AUDIT_ACTIONS, strict=True))[0]
    outcome = rng.choices(*zip(*AUDIT_OUTCOMES, strict=True))[0]
    return {
        "id": f"bench:{n + 1:012d}",
        "chain": "bench",
        "seq": n + 1,
        "at": stored_time(now),
        "actor": actor,
        "role": "police_officer",
        "agency": "police-station",
        "action": action,
        "object_type": "report",
        "object_id": f"rep-{rng.getrandbits(64):016x}",
        "child_ref": f"child-{rng.randrange(max(entries // 20, 1))}",
        "purpose": None,
        "outcome": outcome,
        "status": 200,
        "trace_id": None,
    }


def seed(
    workdir: Path, *, cases: int, inbox: int, seed: int = 5, write: bool = True
) -> dict[str, Any]:
    """Cases (one report each, two tasks), welfare checks for home visits, inbox entries.
    `write` False: only what the measurements pick from them (the stores exist already)."""
    rng = random.Random(seed)
    step = timedelta(days=365) / max(cases, 1)
    case_rows, task_rows, check_rows, chronology_rows = [], [], [], []
    picks: dict[str, Any] = {"cases": [], "tasks_mid": None}
    for i in range(cases):
        school = SCHOOLS[rng.randrange(len(SCHOOLS))]
        category = rng.choice(list(CATEGORIES))
        risk = rng.choice(RISKS)
        now = START + step * i
        at = stored_time(now)
        case_id, report_id = f"case-{rng.getrandbits(128):032x}", f"rep-{rng.getrandbits(64):016x}"
        # Older tasks have been acknowledged; the newest tenth is still open.
        acked = i < cases * 0.9 or rng.random() < 0.02
        tasks = []
        for agency, kind, user, org in (
            ("police", CATEGORIES[category][0], school.community_officer_id, None),
            ("social_work", CATEGORIES[category][1], None, school.social_org_id),
        ):
            task = {
                "id": f"task-{rng.getrandbits(128):032x}",
                "case_id": case_id,
                "child_ref": f"child-{i}",
                "report_id": report_id,
                "school_id": school.id,
                "kind": kind,
                "title": f"{kind.replace('_', ' ').capitalize()} for the child",
                "agency": agency,
                "assignee_user_id": user,
                "assignee_org_id": org,
                "risk_level": risk,
                "due_at": stored_time(now + timedelta(hours=4)),
                "status": "acknowledged" if acked else "open",
                "created_at": at,
                "acknowledged_at": stored_time(now + timedelta(minutes=20)) if acked else None,
                "acknowledged_by": (user or "social1") if acked else None,
            }
            tasks.append(task)
            task_rows.append(dump(task))
            if kind in ("home_visit", "welfare_check"):
                check = {
                    "id": f"wc-{task['id']}",
                    "task_id": task["id"],
                    "case_id": case_id,
                    "school_id": school.id,
                    "officer_id": user,
                    "due_at": task["due_at"],
                    "status": "planned",
                    "created_at": at,
                }
                check_rows.append(dump(check))
        chronology: list[dict[str, Any]] = [
            {"at": at, "kind": "report_filed", "text": f"Concern report from {school.id}: "
             f"{category}, severity {risk}", "ref": report_id},
            *({"at": at, "kind": "task_created", "text": t["title"], "ref": t["id"]}
              for t in tasks),
        ]  # fmt: skip
        case = {
            "id": case_id,
            "child_ref": f"child-{i}",
            "status": "open",
            "risk_level": risk,
            "school_ids": [school.id],
            "org_ids": [school.social_org_id],
            "officer_ids": [school.community_officer_id],
            "report_ids": [report_id],
            "categories": [category],
            "opened_at": at,
            "updated_at": at,
            "closed_at": None,
            "identity_review": False,
            "chronology_len": len(chronology),  # the entries are rows, as save_case writes them
        }
        case_rows.append(dump(case))
        chronology_rows += [
            dump(chronology_row(case_id, seq, entry)) for seq, entry in enumerate(chronology)
        ]
        if rng.random() < 0.002 or (school.id == "sch-01" and len(picks["cases"]) < 10):
            picks["cases"].append((case_id, school.id))
        if i == cases // 2:
            picks["tasks_mid"] = (at, tasks[0]["id"])
    inbox_rows = []
    for n in range(inbox):
        entry = inbox_entry(rng, n, inbox=inbox)
        inbox_rows.append(dump(entry))
        if n == inbox // 2:
            picks["inbox_mid"] = (entry["created_at"], entry["id"])
    # Nothing is picked from the trail: a reused store's is not made again only to be dropped.
    audit_rng = random.Random(seed + 1)
    audit_rows = (
        [dump(audit_entry(audit_rng, n, entries=inbox)) for n in range(inbox)] if write else []
    )
    for name, tables in (
        ()
        if not write
        else (
            (
                "case_tracking",
                {"cases": case_rows, "tasks": task_rows, "case_chronology": chronology_rows},
            ),
            ("patrol", {"welfare_checks": check_rows}),
            ("notifications", {"inbox": inbox_rows}),
            ("gateway", {"audit": audit_rows}),
        )
    ):
        db = sqlite3.connect(workdir / f"{name}.db", isolation_level=None)
        # Seeding is not what is measured: no journal, no fsync (the services open it in WAL).
        db.execute("PRAGMA journal_mode = OFF")
        db.execute("PRAGMA synchronous = OFF")
        db.execute("BEGIN")
        for table, rows in tables.items():
            _table(db, table, rows)
        db.execute("COMMIT")
        db.close()
    picks["sizes"] = {
        "cases": len(case_rows),
        "tasks": len(task_rows),
        "welfare_checks": len(check_rows),
        "inbox": len(inbox_rows),
        "audit": inbox,
    }
    return picks


def principal(username: str) -> Principal:
    user = next(u for u in USERS if u.username == username)
    return Principal(
        user_id=user.username,
        role=user.role,
        school_id=user.school_id,
        org_id=user.org_id,
        school_ids=user.school_ids,
    )


def _p(times: list[float], q: float) -> float:
    times = sorted(times)
    return times[min(len(times) - 1, int(len(times) * q))]


Call = Callable[[], Awaitable[httpx.Response]]


async def _timed(calls: list[Call]) -> dict[str, float]:
    times, cpu = [], []
    for call in calls:
        t, c = time.perf_counter(), time.process_time()
        r = await call()
        times.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
        if r.status_code != 200:
            raise RuntimeError(f"{r.request.url}: {r.status_code} {r.text[:200]}")
    return {**_stats(times, cpu), "n": len(times)}


def _stats(times: list[float], cpu: list[float]) -> dict[str, float]:
    """Wall time, and CPU time of this process (all threads: the stores' too), which the other
    work on a shared machine does not inflate."""
    return {
        "p50_ms": statistics.median(times),
        "p99_ms": _p(times, 0.99),
        "cpu_p50_ms": statistics.median(cpu),
        "cpu_p99_ms": _p(cpu, 0.99),
    }


async def _walk(
    get: Callable[..., Awaitable[httpx.Response]], url: str, n: int, **params: Any
) -> dict[str, float]:
    """n pages: from `url`, following rel="next" (from the start again at the end)."""
    times: list[float] = []
    cpu: list[float] = []
    next_url: str | None = None
    sizes: list[int] = []
    while len(times) < n:
        t, c = time.perf_counter(), time.process_time()
        r = await (get(next_url) if next_url else get(url, **params))
        times.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
        if r.status_code != 200:
            raise RuntimeError(f"{r.request.url}: {r.status_code} {r.text[:200]}")
        sizes.append(len(r.json()))
        next_url = r.links.get("next", {}).get("url")
    return {**_stats(times, cpu), "n": len(times), "items/page": round(statistics.mean(sizes), 1)}


def _service_apps(settings: dict[str, Any]) -> dict[str, FastAPI]:
    return {
        "school_liaison": school_app(SchoolSettings(**settings["school_liaison"])),
        "case_tracking": case_tracking_app(CaseSettings(**settings["case_tracking"])),
        "patrol": patrol_app(PatrolSettings(**settings["patrol"])),
        "notifications": notifications_app(NotificationSettings(**settings["notifications"])),
    }


async def run(
    *,
    cases: int,
    inbox: int,
    requests: int,
    workdir: Path,
    reuse: bool = False,
    only: tuple[str, ...] = (),
) -> dict[str, Any]:
    """`only`: the rows whose names contain one of these (all rows if empty)."""
    results: dict[str, Any] = {}
    t = time.perf_counter()
    picks = seed(workdir, cases=cases, inbox=inbox, write=not reuse)
    results["seed_s"] = round(time.perf_counter() - t, 1)
    results["sizes"] = picks["sizes"]
    async with AsyncExitStack() as stack:
        platform = Platform(var_dir=workdir / "nats", ports=Ports.free())
        platform.var_dir.mkdir(parents=True, exist_ok=True)
        platform.start_nats()
        stack.callback(platform.stop)
        platform.declare_streams()

        def common(name: str) -> dict[str, Any]:
            fields: dict[str, Any] = {
                "demo_mode": True,
                "nats_url": platform.nats_url,
                "nats_user": name,
                "nats_password": platform.nats_passwords[name],
                "store_url": f"sqlite:///{workdir / name}.db",
            }
            if name == "case_tracking":
                # Its demo casework reads every open case (7 s of the loop at 100 k) at each
                # start, landing in whichever row runs first.
                fields["demo_casework"] = False
            if name == "gateway":
                fields["replayer_nats_user"] = REPLAYER
                fields["replayer_nats_password"] = platform.nats_passwords[REPLAYER]
                fields["rate_per_s"], fields["rate_burst"] = 1e6, 10**6
            return fields

        names = ("school_liaison", "case_tracking", "patrol", "notifications")
        apps = _service_apps({n: common(n) for n in names})
        transports: dict[str, httpx.AsyncBaseTransport] = {
            n: httpx.ASGITransport(app=a) for n, a in apps.items()
        }
        gw_settings = GatewaySettings(**common("gateway"))
        front = gateway_app(gw_settings, transports=transports)
        t = time.perf_counter()
        for app in [*apps.values(), front]:
            await stack.enter_async_context(app.router.lifespan_context(app))
        results["start_with_migrations_s"] = round(time.perf_counter() - t, 1)
        stack.callback(gc.set_threshold, *gc.get_threshold())
        freeze_startup_objects()  # as each process does once started (shared/serve.py)
        stack.callback(gc.unfreeze)
        clients = {
            n: httpx.AsyncClient(transport=transports[n], base_url=f"http://{n}") for n in names
        }
        for c in clients.values():
            stack.push_async_callback(c.aclose)
        gateway = httpx.AsyncClient(transport=httpx.ASGITransport(app=front), base_url="http://gw")
        stack.push_async_callback(gateway.aclose)

        def direct(service: str, user: str) -> Callable[..., Awaitable[httpx.Response]]:
            who = principal(user)

            async def get(url: str, **params: Any) -> httpx.Response:
                token = mint_internal_token(who, key=gw_settings.signing_key, service=service)
                return await clients[service].get(
                    url, params=params or None, headers={INTERNAL_HEADER: token}
                )

            return get

        tokens: dict[str, str] = {}

        def through_gateway(user: str) -> Callable[..., Awaitable[httpx.Response]]:
            async def get(url: str, **params: Any) -> httpx.Response:
                if user not in tokens:
                    r = await gateway.post(
                        "/v1/auth/token", data={"username": user, "password": "demo"}
                    )
                    tokens[user] = r.json()["access_token"]
                headers = {"Authorization": f"Bearer {tokens[user]}"}
                return await gateway.get(url, params=params or None, headers=headers)

            return get

        n = requests  # rebound below: a few calls to warm up, then the measured ones
        tasks, notes = "case_tracking", "notifications"
        task_mid = _cursor(*picks["tasks_mid"])
        inbox_mid = _cursor(*picks["inbox_mid"])
        rows: dict[str, Callable[[], Awaitable[dict[str, float]]]] = {
            "tasks desk (all)": lambda: _walk(direct(tasks, "dispatcher1"), "/tasks", n),
            "tasks desk, mid-list": lambda: _walk(
                direct(tasks, "dispatcher1"), "/tasks", n, after=task_mid
            ),
            "tasks desk status=open": lambda: _walk(
                direct(tasks, "dispatcher1"), "/tasks", n, status="open"
            ),
            "tasks officer1": lambda: _walk(direct(tasks, "officer1"), "/tasks", n),
            "tasks officer1 status=open": lambda: _walk(
                direct(tasks, "officer1"), "/tasks", n, status="open"
            ),
            "tasks social1 (org)": lambda: _walk(direct(tasks, "social1"), "/tasks", n),
            "tasks social1 status=open": lambda: _walk(
                direct(tasks, "social1"), "/tasks", n, status="open"
            ),
            "tasks teacher1 (school)": lambda: _walk(direct(tasks, "teacher1"), "/tasks", n),
            "tasks teacher1 status=open": lambda: _walk(
                direct(tasks, "teacher1"), "/tasks", n, status="open"
            ),
            "tasks of a case": lambda: _timed(
                [
                    _bind(direct(tasks, "dispatcher1"), "/tasks", case_id=c)
                    for c, _ in _cycle(picks["cases"], n)
                ]
            ),
            "inbox desk (dispatcher1)": lambda: _walk(
                direct(notes, "dispatcher1"), "/notifications", n
            ),
            "inbox desk, mid-list": lambda: _walk(
                direct(notes, "dispatcher1"), "/notifications", n, after=inbox_mid
            ),
            "inbox desk unread": lambda: _walk(
                direct(notes, "dispatcher1"), "/notifications", n, unread="true"
            ),
            "inbox officer1": lambda: _walk(direct(notes, "officer1"), "/notifications", n),
            "inbox social1 (org)": lambda: _walk(direct(notes, "social1"), "/notifications", n),
            "inbox social1 unread": lambda: _walk(
                direct(notes, "social1"), "/notifications", n, unread="true"
            ),
            "welfare checks desk": lambda: _walk(
                direct("patrol", "dispatcher1"), "/welfare-checks", n
            ),
            "welfare checks officer1": lambda: _walk(
                direct("patrol", "officer1"), "/welfare-checks", n
            ),
            "schools (desk)": lambda: _walk(direct("school_liaison", "dispatcher1"), "/schools", n),
            "GET /cases/{id} officer": lambda: _timed(
                [
                    _bind(direct(tasks, "dispatcher1"), f"/cases/{c}")
                    for c, _ in _cycle(picks["cases"], n)
                ]
            ),
            "GET /cases/{id} teacher (feedback)": lambda: _timed(
                [
                    _bind(direct(tasks, _teacher_of(s)), f"/cases/{c}")
                    for c, s in _cycle([p for p in picks["cases"] if _teacher_of(p[1])], n)
                ]
            ),
            "gateway /v1/tasks desk": lambda: _walk(
                through_gateway("dispatcher1"), "/v1/tasks", n, limit=100
            ),
            "gateway /v1/notifications desk": lambda: _walk(
                through_gateway("dispatcher1"), "/v1/notifications", n
            ),
            "gateway /v1/cases/{id}": lambda: _timed(
                [
                    _bind(through_gateway("dispatcher1"), f"/v1/cases/{c}")
                    for c, _ in _cycle(picks["cases"], n)
                ]
            ),
            "gateway /v1/admin/users": lambda: _walk(
                through_gateway("admin1"), "/v1/admin/users", n, limit=5
            ),
            "gateway /v1/admin/dead-letters": lambda: _walk(
                through_gateway("admin1"), "/v1/admin/dead-letters", n
            ),
            # The trail, a year's worth: each page read is audited too (an entry per child).
            "gateway /v1/audit": lambda: _walk(through_gateway("auditor1"), "/v1/audit", n),
            "gateway /v1/audit outcome=denied": lambda: _walk(
                through_gateway("auditor1"), "/v1/audit", n, outcome="denied"
            ),
            # Combined filters, one rare (a partner's failed requests): pages end at their
            # budget of entries read, most of them empty.
            "gateway /v1/audit actor + outcome=error": lambda: _walk(
                through_gateway("auditor1"), "/v1/audit", n, actor="officer1", outcome="error"
            ),
        }
        for name, row in rows.items():
            if only and not any(part in name for part in only):
                continue
            n = 3
            await row()  # warm the page cache and the code paths
            n = requests
            results[name] = await row()
            print(_line(name, results[name]), flush=True)
    return results


def _cursor(value: str, id_: str) -> str:
    from shared.store import Cursor

    return Cursor(value, id_).encode()


def _teacher_of(school_id: str) -> str:
    return {"sch-01": "teacher1", "sch-02": "teacher2", "sch-10": "teacher10"}.get(school_id, "")


def _cycle(items: list[Any], n: int) -> list[Any]:
    return [items[i % len(items)] for i in range(n)] if items else []


def _bind(get: Callable[..., Awaitable[httpx.Response]], url: str, **params: Any) -> Call:
    return lambda: get(url, **params)


def _line(name: str, value: Any) -> str:
    if isinstance(value, dict) and "p50_ms" in value:
        extra = f"   {value['items/page']:>5} items/page" if "items/page" in value else ""
        return (
            f"{name:<36} p50 {value['p50_ms']:6.1f} p99 {value['p99_ms']:6.1f} ms | CPU p50 "
            f"{value['cpu_p50_ms']:6.1f} p99 {value['cpu_p99_ms']:6.1f} ms  n={value['n']}{extra}"
        )
    return f"{name:<38} {value}"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000, help="two tasks each")
    parser.add_argument("--inbox", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200, help="timed pages per row")
    parser.add_argument("--dir", type=Path, default=None, help="keep the stores here")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--reuse", action="store_true", help="the stores in --dir, as seeded")
    parser.add_argument(
        "--only", action="append", default=[], help="rows whose names contain this (repeatable)"
    )
    args = parser.parse_args()
    # Stores kept only where --dir names a place (for --reuse); a temporary one goes after.
    workdir = args.dir or Path(tempfile.mkdtemp(prefix="hulei-lists-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"stores in {workdir}", flush=True)
    try:
        results = asyncio.run(
            run(
                cases=args.cases,
                inbox=args.inbox,
                requests=args.requests,
                workdir=workdir,
                reuse=args.reuse,
                only=tuple(args.only),
            )
        )
    finally:
        if args.dir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    for name in ("seed_s", "sizes", "start_with_migrations_s"):
        print(_line(name, results[name]))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
