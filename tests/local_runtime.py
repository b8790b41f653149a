"""The part of a Runtime a service's use cases need (`service.Transactor`: the store and
`transact`), on a real store and without a bus, so use cases are tested on their own."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar

from shared.events import Envelope
from shared.runtime import UnitOfWork, Work
from shared.store import Store, Writer
from shared.store.retry import transact

R = TypeVar("R")


@dataclass
class LocalRuntime:
    """`transact` runs a unit of work as Runtime.transact does (again when it lost a race),
    but what a committed unit of work announces lands in `events`, not in the outbox."""

    store: Store
    events: list[Envelope] = field(default_factory=list)

    async def transact(self, work: Work[R]) -> R:
        committed: list[UnitOfWork] = []

        async def attempt(tx: Writer) -> R:
            uow = UnitOfWork(tx)
            result = await work(uow)
            committed[:] = [uow]
            return result

        result = await transact(self.store, attempt)
        self.events.extend(committed[0].events)
        return result

    def types(self) -> list[str]:
        """The types of the events announced so far, in order."""
        return [e.type for e in self.events]
