"""Partner webhooks as the public API takes and shows them (docs/webhooks.md): subscriptions,
their deliveries and each delivery's attempts. notifications owns them; the gateway relays."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from shared.contracts.body import Body

DeliveryState = Literal["pending", "delivered", "failed"]


class SubscriptionCreate(Body):
    url: str = Field(
        min_length=8,
        max_length=2000,
        description="https only (plain http only in demo mode or to an allow-listed host); "
        "no private, loopback or link-local address unless allow-listed",
    )
    event_types: list[str] = Field(
        min_length=1,
        max_length=50,
        description="event types (e.g. `task.created`) the caller's role may see on the stream",
    )
    description: str | None = Field(default=None, max_length=200)


class SubscriptionChange(Body):
    active: bool = Field(description="false disables deliveries; true enables them again")


class SubscriptionView(BaseModel):
    id: str
    owner: str = Field(description="the partner client that subscribed")
    url: str
    event_types: list[str]
    description: str | None = None
    active: bool
    disabled_reason: str | None = None
    created_at: datetime
    failing_since: datetime | None = Field(
        default=None, description="first failed attempt since the last success"
    )


class SubscriptionCreated(SubscriptionView):
    secret: str = Field(description="`whsec_…`, shown once: verifies `webhook-signature`")


class AttemptView(BaseModel):
    at: datetime
    status_code: int | None = Field(description="the receiver's answer; null if none came")
    latency_ms: int
    error: str | None = None


class DeliveryView(BaseModel):
    id: str = Field(description="the `webhook-id` header: the same on every attempt")
    subscription_id: str
    event_id: str
    event_type: str
    state: DeliveryState
    created_at: datetime
    next_attempt_at: datetime | None = None
    attempts: list[AttemptView]
    case_id: str | None = Field(default=None, description="the case the event is about")
    child_ref: str | None = Field(default=None, description="the child's pseudonym, if named")
