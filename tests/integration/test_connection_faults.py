"""NATS goes away and comes back: services say so on /readyz, lose nothing, and resume."""

from __future__ import annotations

from deploy.launcher import Platform
from shared.contracts.cases import ReportLinked
from shared.events import Envelope
from shared.outbox import COLLECTION
from shared.runtime import Runtime, UnitOfWork
from shared.streams import ConsumerSpec
from tests.integration.conftest import commit
from tests.support import eventually

SPEC = ConsumerSpec("CASES", "test-faults", "case.report.linked.v1")


def linked(n: int) -> Envelope:
    data = ReportLinked(report_id=f"rep-{n}", case_id=f"case-{n}")
    return Envelope.wrap(
        data, source="case_tracking", subject=f"rep-{n}", correlation_id=f"rep-{n}"
    )


async def test_events_committed_while_nats_is_down_arrive_after_it_returns(
    runtime: Runtime, nats_server: Platform
) -> None:
    async def effect(envelope: Envelope, uow: UnitOfWork) -> None:
        await uow.tx.insert("applied", {"id": envelope.id})

    runtime.consume(SPEC, effect)
    before = linked(0)
    await commit(runtime, before)
    await eventually(lambda: runtime.store.get("applied", before.id))

    nats_server.kill("nats")

    async def not_ready() -> bool:
        return not (await runtime.ready())["nats"]

    await eventually(not_ready)
    during = [linked(n) for n in range(1, 21)]
    await commit(runtime, *during)  # accepted while the bus is away
    assert len(await runtime.store.find(COLLECTION)) == 20

    nats_server.start_nats()

    async def ready() -> bool:
        return all((await runtime.ready()).values())

    await eventually(ready, within=10)

    async def all_applied() -> bool:
        rows = await runtime.store.find("applied")
        return len(rows) == 21

    await eventually(all_applied, within=10)
    assert await runtime.store.find(COLLECTION) == []
