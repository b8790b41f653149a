"""What every service's use cases (its service.py) share: the part of the Runtime they need,
and the refusals they raise. The app builder answers each refusal with its HTTP status, so
routes call a use case and shape its result, without a try/except per outcome.

One calling convention, keyword-only after the first argument:
- reads take the store port: `read_case(port, *, ...)`;
- the work of one transaction takes its unit of work, whose transaction the caller owns (a
  consumer's, which makes it idempotent and retries it): `take_report(uow, *, ...)`;
- a request that runs its own transactions (retries, idempotency) takes a `Transactor`:
  `close_case(rt, *, ...)`.
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol, TypeVar

from shared.runtime import Work
from shared.store import Store

R = TypeVar("R")


class Transactor(Protocol):
    """A request's use case's view of the Runtime (which is one): its store, and units of work
    run again from the start when they lose a race, their events committed with them. Tests
    hand in a store-only one (tests/unit/units.py)."""

    @property
    def store(self) -> Store: ...

    async def transact(self, work: Work[R]) -> R: ...


class Refused(Exception):
    """The caller's request cannot be done as asked; `detail` is what they are told."""

    status: ClassVar[int] = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def body(self) -> dict[str, Any]:
        return {"detail": self.detail}


class NotFound(Refused):
    """No such thing, or none the caller may see: the same answer, on purpose."""

    status = 404


class NotAllowed(Refused):
    """The caller may see this but not do it."""

    status = 403


class Conflict(Refused):
    """The request contradicts the state it meets (closed already, a key reused)."""

    status = 409


class InvalidField(Refused):
    """A field the schema admitted but the data refuses (an unknown school): a 422 shaped like
    FastAPI's own validation errors, naming the field."""

    status = 422

    def __init__(self, location: str, field: str, message: str) -> None:
        super().__init__(message)
        self.loc = [location, field]

    def body(self) -> dict[str, Any]:
        return {"detail": [{"loc": self.loc, "msg": self.detail, "type": "value_error"}]}
