"""Audit contracts: the gateway's signed checkpoints of its audit chains.

Published to the AUDIT stream, which refuses deletes and purges, so a checkpoint outlives any
change made to the store: `verify` compares the stored chains with them.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import Field

from shared.events import EventData

CHECKPOINT_SUBJECTS = "audit.checkpoint.v1.>"


class AuditCheckpointed(EventData):
    """Chain `chain` had `seq` entries and its newest entry's MAC was `mac` at `at`."""

    TYPE: ClassVar[str] = "audit.checkpoint"
    SUBJECT_KEYS: ClassVar[tuple[str, ...]] = ("chain",)

    chain: str = Field(pattern=r"^[a-z0-9-]{1,40}$")
    seq: int = Field(ge=0)
    mac: str
    at: datetime
    # HMAC-SHA256 over the fields above, under a key derived from AUDIT_KEY: only the gateway
    # can make one, so a forged checkpoint cannot vouch for a rewritten chain.
    signature: str

    @classmethod
    def subject_for(cls, chain: str) -> str:
        """One subject per chain, so the newest checkpoint of each is one lookup."""
        return f"{cls.nats_subject()}.{chain}"
