"""A carrier (shared/carried.py) through a real JetStream and every store: each consumer is
handed the carried events it filters on, each applied once, the message settled as a whole."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from shared.contracts.cases import CaseOpened, IntakeRecorded, ReportLinked
from shared.contracts.school import ReportFiled, Severity
from shared.deadletters import list_dead_letters
from shared.events import Envelope, EventData
from shared.runtime import EventEffect, Runtime, UnitOfWork
from shared.streams import ConsumerSpec
from tests.support import consumer_settled, eventually, every_store

__all__ = ["every_store"]

# Sent the intake's carriers without naming them (ConsumerSpec.subjects adds them).
LINKS = ConsumerSpec("CASES", "test-carried-links", "case.report.linked.v1")


def _event(data: EventData, *, source: str = "case_tracking") -> Envelope:
    return Envelope.wrap(data, source=source, subject="s", correlation_id="c")


def _intake(*events: Envelope) -> Envelope:
    return _event(IntakeRecorded(events=list(events)))


def _opened(case_id: str) -> Envelope:
    return _event(
        CaseOpened(case_id=case_id, child_ref="child-1", school_id="s1", risk_level=Severity.high)
    )


def _recorder() -> tuple[list[str], EventEffect]:
    """An effect that records the ids it is handed, and their list."""
    handed: list[str] = []

    async def effect(envelope: Envelope, _: UnitOfWork) -> None:
        handed.append(envelope.id)

    return handed, effect


async def _settled(runtime: Runtime) -> bool:
    """LINKS has been sent its messages and has nothing waiting and nothing unacknowledged."""
    return await consumer_settled(runtime.bus.js, LINKS.stream, LINKS.durable)


async def test_a_consumer_is_handed_only_the_carried_events_it_filters_on(
    runtime: Runtime,
) -> None:
    handed: list[str] = []

    async def effect(envelope: Envelope, uow: UnitOfWork) -> None:
        handed.append(envelope.type)
        await uow.tx.insert("applied", {"id": envelope.id})

    runtime.consume(LINKS, effect)
    linked = [_event(ReportLinked(report_id=f"r{i}", case_id="c")) for i in range(2)]
    carrier = _intake(_opened("c"), linked[0], linked[1])
    await runtime.bus.publish(carrier)
    for event in linked:
        await eventually(lambda e=event: runtime.store.get("applied", e.id))  # type: ignore[misc]
    assert handed == ["case.report.linked", "case.report.linked"]
    assert await runtime.store.get("applied", carrier.id) is None
    assert await eventually(lambda: _settled(runtime))


async def test_a_carrier_of_nothing_a_consumer_wants_is_acked_unhandled(runtime: Runtime) -> None:
    handed, effect = _recorder()
    runtime.consume(LINKS, effect)
    await runtime.bus.publish(_intake(_opened("c1")))
    after = _event(ReportLinked(report_id="r9", case_id="c1"))
    await runtime.bus.publish(after)  # behind it: handled, so the carrier was settled first

    async def handled() -> bool:
        return after.id in handed

    await eventually(handled)
    assert handed == [after.id]
    assert await eventually(lambda: _settled(runtime))


async def test_a_failing_carried_event_retries_the_message_and_each_event_applies_once(
    runtime_factory: Callable[..., AbstractAsyncContextManager[Runtime]],
) -> None:
    async with runtime_factory("svc", retry_base_s=0.05) as runtime:
        failures = {"left": 2}
        linked = [_event(ReportLinked(report_id=f"r{i}", case_id="c")) for i in range(3)]

        async def effect(envelope: Envelope, uow: UnitOfWork) -> None:
            if envelope.id == linked[1].id and failures["left"] > 0:
                failures["left"] -= 1
                raise ConnectionError("partner system down")
            await uow.tx.insert("applied", {"id": envelope.id})  # a second insert would fail

        runtime.consume(LINKS, effect)
        await runtime.bus.publish(_intake(*linked))
        await eventually(lambda: runtime.store.get("applied", linked[1].id), within=10)
        # Redelivered as a whole twice; the events applied the first time were duplicates.
        for event in linked:
            assert await runtime.store.get("applied", event.id) is not None
        assert failures["left"] == 0
        assert await eventually(lambda: _settled(runtime))
        assert await list_dead_letters(runtime.bus) == []


async def test_a_carrier_holding_another_publishers_event_is_dead_lettered_unhandled(
    runtime: Runtime,
) -> None:
    handed, effect = _recorder()
    spec = ConsumerSpec(
        "CASES", "test-carried-forged", "school.report.filed.v1", more_subjects=("case.>",)
    )
    runtime.consume(spec, effect)
    forged_part = Envelope(
        type=ReportFiled.TYPE,
        version=ReportFiled.VERSION,
        source="school_liaison",
        subject="r",
        correlation_id="c",
        data={"report_id": "r"},
    )
    # The carrier's publisher claims a school event inside it: the server checked only the
    # carrier's own subject (case.>, case_tracking's).
    await runtime.bus.publish(
        _intake(_event(ReportLinked(report_id="r", case_id="c")), forged_part)
    )
    [letter] = await eventually(lambda: list_dead_letters(runtime.bus))
    assert letter.consumer == spec.durable
    assert "may not hold school.report.filed.v1" in letter.reason
    assert handed == []


async def test_a_unit_of_work_announcing_several_carriers_stores_one_message(
    runtime: Runtime,
) -> None:
    """A consumer's batch of reports is one unit of work: its intakes travel as one message
    (shared/carried.py `merged`), and every event in them is handed, once, in order."""
    handed, effect = _recorder()
    runtime.consume(LINKS, effect)
    before = (await runtime.bus.js.stream_info("CASES")).state.messages
    linked = [_event(ReportLinked(report_id=f"r{i}", case_id=f"c{i}")) for i in range(6)]

    async def work(uow: UnitOfWork) -> None:
        for i in range(0, 6, 2):
            uow.emit(_intake(_opened(f"c{i}"), linked[i], linked[i + 1]))

    await runtime.transact(work)

    async def all_handed() -> bool:
        return len(handed) >= len(linked)

    await eventually(all_handed)
    assert handed == [e.id for e in linked]
    assert (await runtime.bus.js.stream_info("CASES")).state.messages == before + 1
    assert await eventually(lambda: _settled(runtime))
