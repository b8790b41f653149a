"""The event envelope (CloudEvents-style) and the base class for versioned event payloads."""

from __future__ import annotations

import builtins
import os
import re
import time
from datetime import UTC, date, datetime
from typing import Annotated, Any, ClassVar, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
)

T = TypeVar("T", bound="EventData")


def utcnow() -> datetime:
    return datetime.now(UTC)


_D = TypeVar("_D", date, datetime)


def stored_time(moment: datetime) -> str:
    """A time as the stores keep it: UTC with all six fraction digits, so that ordering and
    range queries on the string agree with time order (pydantic drops a zero fraction and
    writes `Z`, which sorts `…:00Z` after `…:00.5Z`)."""
    # isoformat, not strftime: strftime writes year 999 as "999", which no parser reads back.
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _plausible(moment: _D) -> _D:
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise ValueError(f"must be between the years {FIRST_YEAR} and {LAST_YEAR}")
    return moment


def _iso_day(value: Any) -> Any:
    if isinstance(value, date) or (isinstance(value, str) and ISO_DAY.fullmatch(value)):
        return value
    raise ValueError("must be a date, YYYY-MM-DD")


def _iso_moment(value: Any) -> Any:
    """Lax parsing read a number ("0.5", 7) as seconds since 1970; a client means a time."""
    if isinstance(value, datetime) or (isinstance(value, str) and ISO_DAY.match(value)):
        return value
    raise ValueError("must be an ISO 8601 date-time with its offset")


ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
FIRST_YEAR, LAST_YEAR = 1900, 2200
# The range in the OpenAPI document: the year a date or date-time starts with (unanchored at
# the end, as JSON Schema patterns are).
YEARS = Field(json_schema_extra={"pattern": r"^(19[0-9]{2}|2[01][0-9]{2}|2200)-"})
# A moment a client sends: with its offset, and in a range every store and clock can hold
# (year 1 with a positive offset does not even convert to UTC).
Instant = Annotated[AwareDatetime, BeforeValidator(_iso_moment), AfterValidator(_plausible), YEARS]
# A bound of a time range a query asks for: any year (the store compares, nothing is kept).
Bound = Annotated[AwareDatetime, BeforeValidator(_iso_moment)]
# A calendar day a client sends (a query's day, a letter's dates): the same range, and as
# `YYYY-MM-DD` only (lax parsing took "0" for 1970-01-01).
Day = Annotated[date, BeforeValidator(_iso_day), AfterValidator(_plausible), YEARS]

# A datetime field of an entity that is stored and ordered or ranged on.
Timestamp = Annotated[datetime, PlainSerializer(stored_time, when_used="json")]


def new_id(*, ms: int | None = None) -> str:
    """32 hex digits laid out as a UUIDv7 (RFC 9562): the time in milliseconds first (`ms`, now
    if not given), then 74 random bits. Ids made later sort later, so a store's index of them
    grows at its end: a transaction that inserts many rows writes a few index pages, not one
    page a row (uuid4's order is random)."""
    at = time.time_ns() // 1_000_000 if ms is None else ms
    rand = int.from_bytes(os.urandom(10))
    value = (
        (at & _MS_MASK) << 80
        | 0x7 << 76  # version 7
        | (rand >> 68) << 64  # 12 random bits
        | 0b10 << 62  # the RFC's variant
        | rand & _RAND_B_MASK  # 62 random bits
    )
    return f"{value:032x}"


_MS_MASK = (1 << 48) - 1
_RAND_B_MASK = (1 << 62) - 1


class EventData(BaseModel):
    """A versioned event payload. Subclasses name their type (past tense) and version."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    TYPE: ClassVar[str]
    VERSION: ClassVar[int] = 1
    # Tokens after the versioned subject, when an event is published under a key of its own
    # (`audit.checkpoint.v1.<chain>`): named for the event catalogue (shared/asyncapi.py).
    SUBJECT_KEYS: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def nats_subject(cls) -> str:
        return f"{cls.TYPE}.v{cls.VERSION}"


class Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(default_factory=new_id)
    type: str
    version: int
    source: str
    subject: str = Field(description="id of the aggregate the event is about")
    time: datetime = Field(default_factory=utcnow)
    correlation_id: str
    causation_id: str | None = None
    traceparent: str | None = None
    data: dict[str, Any]

    @property
    def nats_subject(self) -> str:
        return f"{self.type}.v{self.version}"

    @classmethod
    def wrap(
        cls,
        data: EventData,
        *,
        source: str,
        subject: str,
        correlation_id: str,
        causation_id: str | None = None,
        traceparent: str | None = None,
    ) -> Envelope:
        return cls(
            type=data.TYPE,
            version=data.VERSION,
            source=source,
            subject=subject,
            correlation_id=correlation_id,
            causation_id=causation_id,
            traceparent=traceparent,
            data=data.model_dump(mode="json"),
        )

    def follow(self, data: EventData, *, source: str, subject: str) -> Envelope:
        """An event caused by this one: same correlation and trace, causation = this id."""
        return Envelope.wrap(
            data,
            source=source,
            subject=subject,
            correlation_id=self.correlation_id,
            causation_id=self.id,
            traceparent=self.traceparent,
        )

    def parse(self, model: builtins.type[T]) -> T:
        if self.type != model.TYPE or self.version != model.VERSION:
            raise ValueError(f"envelope is {self.nats_subject}, not {model.nats_subject()}")
        return model.model_validate(self.data)


class Carrier(EventData):
    """An event that announces several at once, stored and delivered as one message: the
    envelopes it carries, each exactly as it would have been published alone (its own id, type
    and subject). Consumers are handed the carried events, never the carrier
    (shared/carried.py), so an event keeps one contract whether it travels alone or carried."""

    events: list[Envelope] = Field(min_length=1)
