"""Partner webhooks place events as case_tracking scopes cases (shared/event_views.py), from the
case's own events: no report or child index, and the case index read and written only when an
event names a school or an organisation, written only when that is new. On a real SQLite file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from services.notifications import webhook_matching, webhook_store
from services.notifications.store import MIGRATIONS
from services.notifications.webhook_rules import Subscription
from shared.contracts.cases import (
    Agency,
    CaseOpened,
    TaskAcknowledged,
    TaskCompleted,
    TaskCreated,
    TaskReassigned,
)
from shared.contracts.school import ReportCategory, ReportFiled, Severity
from shared.events import Envelope, EventData
from shared.identity import Principal, Role
from shared.runtime import UnitOfWork
from shared.store import Store
from shared.store.migrations import migrate
from tests.unit.units import Recording, sqlite_port

AT = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
ORG_A = Principal(user_id="client:ngo-a", role=Role.social_worker, org_id="org-a")
ORG_B = Principal(user_id="client:ngo-b", role=Role.social_worker, org_id="org-b")
DESK = Principal(user_id="client:desk", role=Role.dispatcher)


@pytest.fixture
async def port(tmp_path: Path) -> AsyncIterator[Store]:
    store = await sqlite_port(tmp_path, component="notifications", migrations=MIGRATIONS)
    yield store
    await store.close()


async def handled(port: Store, *events: EventData) -> list[tuple[str, str]]:
    """Each event through the webhooks' effect in its own transaction; the reads and writes."""
    ops: list[tuple[str, str]] = []
    subscriptions = webhook_matching.ActiveSubscriptions()
    for data in events:
        envelope = Envelope.wrap(data, source="case_tracking", subject="s", correlation_id="c")
        async with port.transaction() as tx:
            recording = Recording(tx)
            uow = UnitOfWork(recording)
            await webhook_matching.on_event(envelope, uow, subscriptions=subscriptions)
            await uow.flush()  # as the runtime does before it commits
        ops += recording.touched()
    return ops


async def subscribe(port: Store, principal: Principal, *types: str) -> Subscription:
    subscription = Subscription(
        id=f"whs_{principal.user_id}",
        owner=principal.user_id,
        principal=principal,
        url="https://partner.example/hook",
        event_types=list(types),
        created_at=AT,
        secret="whsec_x",
    )
    await webhook_store.put_subscription(port, subscription=subscription)
    return subscription


async def sent(port: Store, subscription: Subscription) -> list[str]:
    page, _ = await webhook_store.deliveries(
        port, subscription_id=subscription.id, limit=50, after=None
    )
    return sorted(d.event_type for d in page)


def report() -> ReportFiled:
    return ReportFiled(
        report_id="rep-1",
        school_id="sch-01",
        category=ReportCategory.truancy,
        severity=Severity.high,
        immediate_danger=False,
        child_ref="child-1",
        community_officer_id="off-1",
        social_org_id="org-a",
        filed_by="teacher1",
        filed_at=AT,
    )


def opened() -> CaseOpened:
    return CaseOpened(
        case_id="case-1",
        child_ref="child-1",
        school_id="sch-01",
        risk_level=Severity.high,
        social_org_id="org-a",
    )


def created(task_id: str, agency: Agency, org: str | None) -> TaskCreated:
    return TaskCreated(
        task_id=task_id,
        case_id="case-1",
        school_id="sch-01",
        kind="visit",
        title="Home visit",
        agency=agency,
        assignee_user_id="off-1" if org is None else None,
        assignee_org_id=org,
        risk_level=Severity.high,
        due_at=AT,
    )


def acknowledged(task_id: str) -> TaskAcknowledged:
    return TaskAcknowledged(
        task_id=task_id, case_id="case-1", acknowledged_by="social1", acknowledged_at=AT
    )


async def test_a_report_costs_one_index_write_and_no_report_or_child_index(port: Store) -> None:
    ops = await handled(
        port,
        report(),
        opened(),
        created("t-police", Agency.police, None),
        created("t-social", Agency.social_work, "org-a"),
        acknowledged("t-social"),
    )
    index = [op for op in ops if op[1] == webhook_store.CASES_C]
    # case.opened places the case (read, written); each task confirms it (read, nothing new);
    # the report and the acknowledgement name no school or organisation: not touched.
    assert index == [
        ("get", "webhook_cases"),
        ("put", "webhook_cases"),
        *[("get", "webhook_cases")] * 2,
    ]
    assert {c for _, c in ops} <= {
        webhook_store.CASES_C,
        webhook_store.SUBSCRIPTIONS_C,
        webhook_store.VERSION_C,
    }
    facts = await webhook_store.case_facts(port, case_id="case-1")
    assert facts is not None
    assert (facts.schools, facts.orgs) == ({"sch-01"}, {"org-a"})


async def test_a_reports_events_in_one_batch_read_the_version_and_the_case_once(
    port: Store,
) -> None:
    """As the consumer takes them (a report's events arrive together, one unit of work): the
    subscriptions' version and the case's entry read once, the entry written once, before the
    commit, with what every event of the batch taught."""
    mine = await subscribe(port, ORG_A, "task.created")
    theirs = await subscribe(port, ORG_B, "task.created")
    subscriptions = webhook_matching.ActiveSubscriptions()
    events = [
        opened(),
        created("t-police", Agency.police, None),
        created("t-social", Agency.social_work, "org-a"),
        created("t-other", Agency.social_work, "org-b"),  # teaches a second organisation
    ]
    async with port.transaction() as tx:
        recording = Recording(tx)
        uow = UnitOfWork(recording)
        for data in events:
            envelope = Envelope.wrap(data, source="case_tracking", subject="s", correlation_id="c")
            await webhook_matching.on_event(envelope, uow, subscriptions=subscriptions)
        await uow.flush()
    touched = recording.touched()
    assert touched.count(("get", webhook_store.VERSION_C)) == 1
    assert touched.count(("get", webhook_store.CASES_C)) == 1
    assert touched.count(("put", webhook_store.CASES_C)) == 1
    facts = await webhook_store.case_facts(port, case_id="case-1")
    assert facts is not None
    assert (facts.schools, facts.orgs) == ({"sch-01"}, {"org-a", "org-b"})
    # Each scoped client is sent what the case was known to be theirs at that event.
    assert await sent(port, mine) == ["task.created"] * 3
    assert await sent(port, theirs) == ["task.created"]


async def test_a_case_event_naming_only_the_case_goes_to_the_organisations_serving_it(
    port: Store,
) -> None:
    """Placed by the case's own opening, the report event never read (another stream)."""
    mine = await subscribe(port, ORG_A, "task.acknowledged", "task.completed")
    theirs = await subscribe(port, ORG_B, "task.acknowledged", "task.completed")
    desk = await subscribe(port, DESK, "task.acknowledged")
    await handled(port, opened(), acknowledged("t-social"))
    assert await sent(port, mine) == ["task.acknowledged"]
    assert await sent(port, theirs) == []
    assert await sent(port, desk) == ["task.acknowledged"]

    # Reassigned to org-b, the case is org-b's too (as case_tracking scopes it).
    reassigned = TaskReassigned(
        task_id="t-social",
        case_id="case-1",
        title="Home visit",
        risk_level=Severity.high,
        by="dispatcher1",
        previous_user_id=None,
        previous_org_id="org-a",
        assignee_user_id=None,
        assignee_org_id="org-b",
        ack_due_at=AT,
        due_at=AT,
    )
    done = TaskCompleted(task_id="t-social", case_id="case-1", completed_by="w", completed_at=AT)
    await handled(port, reassigned, done)
    assert await sent(port, theirs) == ["task.completed"]
    assert await sent(port, mine) == ["task.acknowledged", "task.completed"]


async def test_an_event_nobody_subscribed_to_reads_no_case_index(port: Store) -> None:
    await handled(port, opened())
    await subscribe(port, DESK, "task.acknowledged")
    ops = await handled(port, acknowledged("t-police"))
    assert ("get", webhook_store.CASES_C) not in ops  # station-wide: scope not needed


async def test_the_retired_report_and_child_indexes_are_emptied(tmp_path: Path) -> None:
    before = [m for m in MIGRATIONS if m.version < 4]
    port = await sqlite_port(tmp_path, component="notifications", migrations=before)
    try:
        for n in range(3):
            await port.put("webhook_reports", {"id": f"rep-{n}", "school_id": "s", "org_id": "o"})
            await port.put("webhook_children", {"id": f"child-{n}", "orgs": ["o"]})
        assert await migrate(port, component="notifications", migrations=MIGRATIONS) == [4, 5]
        assert await port.count("webhook_reports") == 0
        assert await port.count("webhook_children") == 0
        assert await webhook_store.subscriptions_version(port) is not None  # read from the start
    finally:
        await port.close()


async def read(port: Store, active: webhook_matching.ActiveSubscriptions) -> list[str]:
    async with port.transaction() as tx:
        return sorted(s.id for s in await active.read(tx))


async def change(port: Store, subscription: Subscription, **update: Any) -> Subscription:
    changed = subscription.model_copy(update=update)
    async with port.transaction() as tx:
        await webhook_store.put_subscription(tx, subscription=changed)
    return changed


async def test_each_replica_sees_another_replicas_change_at_once(port: Store) -> None:
    """Two replicas' caches over one store: no change is missed, none needs a restart."""
    here, there = webhook_matching.ActiveSubscriptions(), webhook_matching.ActiveSubscriptions()
    assert await read(port, here) == await read(port, there) == []
    sub = await subscribe(port, ORG_A, "task.created")  # made by `there`'s process
    assert await read(port, here) == [sub.id]
    sub = await change(port, sub, active=False)
    assert await read(port, here) == []
    sub = await change(port, sub, active=True)
    assert await read(port, there) == [sub.id]
    await change(port, sub, event_types=["case.opened"])
    [again] = await here.read(port)
    assert again.event_types == ["case.opened"]
    async with port.transaction() as tx:
        await webhook_store.delete_subscription(tx, subscription_id=sub.id)
    assert await read(port, here) == await read(port, there) == []


async def test_the_list_is_read_again_only_after_a_change_that_matters(port: Store) -> None:
    sub = await subscribe(port, DESK, "task.created")
    active = webhook_matching.ActiveSubscriptions()
    assert await read(port, active) == [sub.id]
    before = await webhook_store.subscriptions_version(port)
    # A failing streak and a rotated secret change nothing about which events it is sent.
    sub = await change(port, sub, failing_since=AT, secret="whsec_new")
    assert await webhook_store.subscriptions_version(port) == before
    async with port.transaction() as tx:
        recording = Recording(tx)
        for _ in range(3):
            await active.read(recording)
    assert recording.touched() == [("get", webhook_store.VERSION_C)] * 3  # no query of the list
