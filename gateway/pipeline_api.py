"""`GET /v1/admin/streams`: the event pipeline's state for operators (`hulei streams`).

Every stream's size and sequence range, and every durable consumer's lag: what is waiting,
what is delivered and not yet acknowledged, what was redelivered. Counts only, no message.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from gateway.access import AuditedRoute, authorized, policy
from gateway.admin import BusDep
from gateway.api import ERRORS
from shared.identity import Role
from shared.streams import CONSUMERS, STREAMS

router = APIRouter(
    prefix="/v1/admin",
    tags=["admin"],
    route_class=AuditedRoute,
    dependencies=[Depends(authorized)],
)


class ConsumerState(BaseModel):
    durable: str
    owner: str
    subjects: list[str]  # what it is sent
    pending: int  # in the stream, not yet delivered
    ack_pending: int  # delivered, not yet acknowledged
    redelivered: int
    last_active: datetime | None


class StreamState(BaseModel):
    name: str
    subjects: list[str]
    messages: int
    bytes: int
    first_seq: int
    last_seq: int
    max_age_days: int
    consumers: list[ConsumerState]


class PipelineState(BaseModel):
    streams: list[StreamState]


@router.get(
    "/streams",
    response_model=PipelineState,
    responses={401: ERRORS[401], 403: ERRORS[403], 429: ERRORS[429]},
    summary="Every stream's size and every durable consumer's lag",
    openapi_extra=policy(Role.admin),
)
async def pipeline(bus: BusDep) -> PipelineState:
    """One round trip's time, not one per stream and consumer: the reads go out together."""
    streams = await asyncio.gather(*(bus.js.stream_info(spec.name) for spec in STREAMS))
    infos = await asyncio.gather(*(bus.js.consumer_info(c.stream, c.durable) for c in CONSUMERS))
    lag = {
        c.durable: ConsumerState(
            durable=c.durable,
            owner=c.owner,
            subjects=list(c.subjects),
            pending=info.num_pending or 0,
            ack_pending=info.num_ack_pending or 0,
            redelivered=info.num_redelivered or 0,
            last_active=info.delivered.last_active if info.delivered else None,
        )
        for c, info in zip(CONSUMERS, infos, strict=True)
    }
    return PipelineState(
        streams=[
            StreamState(
                name=spec.name,
                subjects=list(spec.subjects),
                messages=info.state.messages,
                bytes=info.state.bytes,
                first_seq=info.state.first_seq,
                last_seq=info.state.last_seq,
                max_age_days=spec.max_age_days,
                consumers=[lag[c.durable] for c in CONSUMERS if c.stream == spec.name],
            )
            for spec, info in zip(STREAMS, streams, strict=True)
        ]
    )
