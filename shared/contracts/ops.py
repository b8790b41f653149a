"""Platform operations contracts: alerts about the event pipeline itself."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel

from shared.events import EventData


class DeadLettered(EventData):
    """An event a consumer could not handle after the maximum deliveries; an admin must look."""

    TYPE: ClassVar[str] = "ops.dead_lettered"

    dead_letter_id: int  # sequence in the DEADLETTER stream
    consumer: str
    original_subject: str
    event_id: str | None
    event_type: str | None
    reason: str
    deliveries: int


class DeadLetterReplayed(EventData):
    TYPE: ClassVar[str] = "ops.dead_letter.replayed"

    dead_letter_id: int
    consumer: str
    original_subject: str
    event_id: str | None
    replayed_by: str


class DeadLetteredView(BaseModel):
    id: int
    consumer: str
    original_subject: str
    event_id: str | None
    event_type: str | None
    reason: str
    deliveries: int
    dead_lettered_at: datetime | None
