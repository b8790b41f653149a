"""Platform operations contracts: alerts about the event pipeline and about who may see what."""

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


class PrivilegedGrantMade(EventData):
    """An admin gave an account a scope wider than one school or organisation (several schools,
    or a station-wide role): the auditors review every such grant."""

    TYPE: ClassVar[str] = "ops.privileged_granted"

    account_id: str  # a username, or "client:<id>" for a partner system
    role: str
    school_ids: tuple[str, ...]
    granted_by: str


class DeadLetteredView(BaseModel):
    id: int
    consumer: str
    original_subject: str
    event_id: str | None
    event_type: str | None
    reason: str
    deliveries: int
    dead_lettered_at: datetime | None
