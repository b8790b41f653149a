"""Dead letters: raised as an alert, listed and replayed by an admin through the gateway."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from functools import partial
from typing import Any

import pytest

from shared.contracts.cases import ReportLinked
from shared.deadletters import list_dead_letters, replay_dead_letter
from shared.events import Envelope, new_id, utcnow
from shared.runtime import Runtime, UnitOfWork
from shared.store import ConflictError, StoreUnavailableError
from shared.store.retry import ATTEMPTS
from shared.streams import ConsumerSpec
from tests.support import REPORT, Gateway, eventually


def poison_report() -> Envelope:
    """A well-formed envelope whose payload no version of case_tracking can accept."""
    return Envelope(
        id=new_id(),
        type="school.report.filed",
        version=1,
        source="school_liaison",  # its rightful owner: handled, and failing, every time
        subject="poison",
        time=utcnow(),
        correlation_id="poison",
        data={"report_id": "poison"},
    )


async def test_admin_lists_and_replays_a_dead_letter_and_the_desks_are_told(
    gateway: Gateway,
) -> None:
    school = gateway.apps["school_liaison"].state.runtime  # the one identity that may publish it
    poison = poison_report()
    await school.bus.publish(poison)
    good = await gateway.file("teacher1", REPORT)  # behind the poison, still processed
    await gateway.tasks_of(good.json()["id"], 2)

    async def letters() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = (await gateway.get("admin1", "/v1/admin/dead-letters")).json()
        return found

    [letter] = await eventually(letters)
    assert letter["event_id"] == poison.id
    assert letter["consumer"] == "case_tracking-school"
    assert letter["deliveries"] == 2
    assert "ValidationError" in letter["reason"]

    async def alerts(user: str) -> list[dict[str, Any]]:
        inbox = (await gateway.get(user, "/v1/notifications")).json()
        return [n for n in inbox if n["kind"] == "dead_lettered"]

    assert len(await eventually(lambda: alerts("dispatcher1"))) == 1
    assert len(await eventually(lambda: alerts("admin1"))) == 1
    assert await alerts("officer1") == []

    assert (await gateway.get("dispatcher1", "/v1/admin/dead-letters")).status_code == 403
    replay_path = f"/v1/admin/dead-letters/{letter['id']}/replay"
    headers = await gateway.auth("admin1")
    assert (await gateway.client.post(replay_path, headers=headers)).status_code == 202
    missing = await gateway.client.post("/v1/admin/dead-letters/99999/replay", headers=headers)
    assert missing.status_code == 404

    # Still poison: case_tracking gets it again and gives up again, under a new id.
    async def relettered() -> list[dict[str, Any]]:
        found = await letters()
        return found if found and found[0]["id"] != letter["id"] else []

    [again] = await eventually(relettered)
    assert again["event_id"] == poison.id


async def test_a_replay_after_the_cause_is_fixed_applies_the_event_once(
    runtime: Runtime,
) -> None:
    spec = ConsumerSpec("CASES", "test-fixable", "case.report.linked.v1")
    broken = {"yes": True}

    async def effect(envelope: Envelope, uow: UnitOfWork) -> None:
        if broken["yes"]:
            raise ConnectionError("partner system down")
        await uow.tx.insert("applied", {"id": envelope.id})

    runtime.consume(spec, effect)
    event = _linked()
    await runtime.bus.publish(event)
    [letter] = await eventually(lambda: list_dead_letters(runtime.bus))
    assert letter.deliveries == runtime.bus.max_deliver

    broken["yes"] = False

    def replay() -> Any:
        return replay_dead_letter(runtime.bus, replayer=runtime.bus, seq=letter.id, by="admin1")

    assert await replay() is not None
    await eventually(lambda: runtime.store.get("applied", event.id))
    assert await list_dead_letters(runtime.bus) == []
    assert await replay() is None


async def test_a_store_outage_is_waited_out_not_dead_lettered(
    runtime_factory: Callable[..., AbstractAsyncContextManager[Runtime]],
) -> None:
    """More failed deliveries than max_deliver, all because the store was unavailable: the
    event is applied once the store is back, and nothing is dead-lettered."""
    async with runtime_factory("svc", max_deliver=2, retry_base_s=0.05) as runtime:
        await _outage_waited_out(runtime)


async def _outage_waited_out(runtime: Runtime) -> None:
    spec = ConsumerSpec("CASES", "test-outage", "case.report.linked.v1")
    failures = {"left": runtime.bus.max_deliver + 2}

    async def effect(envelope: Envelope, uow: UnitOfWork) -> None:
        if failures["left"] > 0:
            failures["left"] -= 1
            raise StoreUnavailableError("postgresql: connection refused")
        await uow.tx.insert("applied", {"id": envelope.id})

    runtime.consume(spec, effect)
    event = _linked()
    await runtime.bus.publish(event)
    await eventually(lambda: runtime.store.get("applied", event.id), within=10)
    assert failures["left"] == 0
    assert await list_dead_letters(runtime.bus) == []


def _linked() -> Envelope:
    """A case.report.linked event from its owner (another source would be dead-lettered)."""
    return Envelope.wrap(
        ReportLinked(report_id="r", case_id="c"),
        source="case_tracking",
        subject="r",
        correlation_id="r",
    )


async def test_a_batch_that_fails_whole_is_logged_and_its_events_applied_one_at_a_time(
    runtime_factory: Callable[..., AbstractAsyncContextManager[Runtime]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A batch's transaction that fails outside any one event (here: a race lost on every
    attempt) is split, and the events commit alone. Said in the log: when they all get through,
    nothing else would show that the store was unavailable (a file locked for seconds)."""
    async with runtime_factory("svc") as runtime:
        spec = ConsumerSpec("CASES", "test-split", "case.report.linked.v1")
        conflicts = {"left": ATTEMPTS}  # every attempt of the first transaction

        async def effect(envelope: Envelope, uow: UnitOfWork) -> None:
            if conflicts["left"] > 0:
                conflicts["left"] -= 1
                raise ConflictError("lost a race")
            await uow.tx.insert("applied", {"id": envelope.id})

        events = [_linked(), _linked()]
        for event in events:  # both waiting before the consumer starts: one batch
            await runtime.bus.publish(event)
        with caplog.at_level(logging.WARNING, logger="hulei.runtime"):
            runtime.consume(spec, effect)
            for event in events:
                await eventually(partial(runtime.store.get, "applied", event.id), within=10)
        said = [r.getMessage() for r in caplog.records if r.name == "hulei.runtime"]
        assert any("test-split: a batch of 2 failed" in m and "one at a time" in m for m in said)
        assert await list_dead_letters(runtime.bus) == []
