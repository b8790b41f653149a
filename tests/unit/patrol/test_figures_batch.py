"""patrol's consumers fold a fetched batch (one unit of work) into one tally: each counter row
is written once per batch, and the figures are those of the events counted one at a time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.patrol import handlers
from services.patrol.figures import projection, service
from shared.runtime import UnitOfWork
from shared.store import Store
from tests.unit.patrol.test_figures import DESK, known
from tests.unit.units import Recording, sqlite_port, unit_of_work

pytestmark = pytest.mark.unit


async def _port(tmp_path: Path, name: str) -> Store:
    return await sqlite_port(
        tmp_path / name, component=projection.COMPONENT, migrations=projection.MIGRATIONS
    )


@pytest.fixture
async def ports(tmp_path: Path) -> AsyncIterator[tuple[Store, Store]]:
    batched, single = await _port(tmp_path, "batched"), await _port(tmp_path, "single")
    yield batched, single
    await batched.close()
    await single.close()


async def test_a_batch_writes_each_counter_row_once_and_counts_as_one_by_one(
    ports: tuple[Store, Store],
) -> None:
    batched, single = ports
    events = known()
    delivered = [*events, events[0], events[10]]  # two delivered twice, in the same batch
    async with batched.transaction() as tx:
        writer = Recording(tx)
        uow = UnitOfWork(writer)
        for event in delivered:
            await handlers.on_counted_event(event, uow)
        assert not [key for key in writer.writes if key[0] == projection.TALLIES_C]
        await uow.flush()  # as the runtime does before it commits the batch
    tallies = {k: n for k, n in writer.writes.items() if k[0] == projection.TALLIES_C}
    assert tallies
    assert set(tallies.values()) == {1}
    # Each event's seen mark is inserted, never read first (one statement, a round trip on
    # PostgreSQL); the two delivered again find theirs there and add nothing (below).
    marks = [(op, i) for op, c, i in writer.ops if c == projection.SEEN_C]
    assert {op for op, _ in marks} == {"insert"}
    assert [i for _, i in marks].count(events[0].id) == 2

    for event in delivered:  # the reference: an event per transaction
        async with unit_of_work(single) as one:
            await handlers.on_counted_event(event, one)

    by_batch = await service.figures(batched, caller=DESK, year=2026, schools=3)
    one_by_one = await service.figures(single, caller=DESK, year=2026, schools=3)
    assert by_batch.model_dump() == one_by_one.model_dump()
    assert by_batch.reports_by_school == {"sch-01": 2, "sch-02": 1, "sch-03": 1}
