"""`GET /v1/stream` (Server-Sent Events) and `POST /v1/stream/tickets`.

Each message is `id:` (the position to resume from), `event:` (the event type) and `data:`
(JSON shaped for the caller's role, gateway/stream_views.py). A client that reconnects with
`Last-Event-ID` (or `?after=`) first gets every event it missed, then the live ones. Its
session and each child it is first shown are written to the audit trail. See docs/stream.md.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from pydantic import BaseModel

from gateway import tickets
from gateway.access import ROLES_KEY, CallerDep, policy
from gateway.api import ERRORS
from gateway.audit import AuditLog, Event
from gateway.auth import current_principal, oauth2
from gateway.contract import Error
from gateway.sse import EventStreamResponse
from gateway.stream import BEAT, Gone, Hub, Subscriber
from gateway.stream_events import FIELDS
from gateway.stream_items import Item, Position, messages
from gateway.stream_views import (
    STREAM_ROLES,
    Filters,
    ScopeIndex,
    admits,
    child_of,
    shaped,
)
from shared.contracts.school import Severity
from shared.errors import client_error
from shared.identity import Principal
from shared.telemetry import current_trace_id

router = APIRouter(prefix="/v1", tags=["stream"])
RETRY_MS = 2000  # how soon an EventSource reconnects by itself
POSITION_DOC = "resume after this position (an event's `id`); `Last-Event-ID` wins if both"


class Ticket(BaseModel):
    ticket: str
    expires_in: float


@router.post(
    "/stream/tickets",
    status_code=201,
    response_model=Ticket,
    responses={401: ERRORS[401], 403: ERRORS[403], 429: ERRORS[429]},
    summary="A single-use ticket that opens one stream within 30 s (for EventSource)",
    openapi_extra=policy(*STREAM_ROLES),
)
async def new_ticket(
    request: Request, _caller: CallerDep, token: Annotated[str | None, Depends(oauth2)]
) -> Ticket:
    state = request.app.state
    session = state.tokens.session(token or "", state.settings)
    ttl = state.settings.stream_ticket_s
    return Ticket(
        ticket=await tickets.issue(state.store, session=session, ttl_s=ttl), expires_in=ttl
    )


async def stream_caller(
    request: Request,
    token: Annotated[str | None, Depends(oauth2)],
    ticket: Annotated[
        str | None, Query(max_length=100, description="from POST /v1/stream/tickets")
    ] = None,
) -> Principal:
    """The bearer token's principal, or the ticket's (which is used up)."""
    if ticket:
        principal = await tickets.redeem(request, ticket)
    else:
        principal = await current_principal(request, token)
    request.state.principal = principal
    route = request.scope.get("route")
    allowed = (getattr(route, "openapi_extra", None) or {}).get(ROLES_KEY, [])
    if principal.role.value not in allowed:
        raise HTTPException(403, f"role {principal.role.value} may not do this")
    await request.app.state.rate_limiter.check(principal.user_id)
    return principal


def _invalid(field: str, where: str, msg: str) -> HTTPException:
    return HTTPException(422, [client_error([where, field], msg, "value_error")])


def _filters(types: str | None, school_id: str | None, severity: str | None) -> Filters:
    wanted = frozenset(t for t in (types or "").split(",") if t)
    if unknown := sorted(wanted - set(FIELDS)):
        raise _invalid("type", "query", f"unknown event types {unknown}; known: {sorted(FIELDS)}")
    return Filters(wanted, school_id, severity)


def _position(after: str | None, last_event_id: str | None) -> Position | None:
    for text, field, where in (
        (last_event_id, "Last-Event-ID", "header"),
        (after, "after", "query"),
    ):
        if text is not None:
            try:
                return Position.parse(text)
            except ValueError as exc:
                raise _invalid(field, where, str(exc)) from exc
    return None


STREAM_RULES = {
    "query.type": "known event types (the catalogue at /asyncapi.json)",
    "query.after": "a position this stream gave",
    "header.Last-Event-ID": "a position this stream gave",
}
STREAM_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Server-Sent Events: `id:` position, `event:` type, `data:` JSON; a "
        "`ready` event after the replay carries the position; `: heartbeat` comments keep the "
        "connection open; a `cut` event ends the response of a client that fell too far "
        "behind (reconnect with the last id)",
        "content": {
            "text/event-stream": {  # one message (as SSE parsers and schemathesis read it)
                "schema": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string", "description": "position to resume from"},
                        "event": {"type": "string", "description": "event type, or ready/cut"},
                        "data": {"type": "string", "description": "JSON"},
                        "retry": {"type": "integer"},
                    },
                }
            }
        },
    },
    401: {"model": Error, "description": "missing, invalid or expired token or stream ticket"},
    403: ERRORS[403],
    410: {
        "model": Error,
        "description": "the position is older than the streams keep (or too far behind): "
        "reload the board from the REST API and open the stream without a position",
    },
    422: {"description": "a bad position, type or severity (the `loc` names it)"},
    429: ERRORS[429],
    503: {"model": Error, "description": "the event feed is not connected yet; retry"},
}


@router.get(
    "/stream",
    response_class=EventStreamResponse,
    responses=STREAM_RESPONSES,
    summary="Live events for the caller's role, resumable (Server-Sent Events)",
    openapi_extra=policy(*STREAM_ROLES, rules=STREAM_RULES),
)
async def stream(
    request: Request,
    principal: Annotated[Principal, Depends(stream_caller)],
    after: Annotated[str | None, Query(max_length=80, description=POSITION_DOC)] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=80)] = None,
    type: Annotated[
        str | None, Query(max_length=500, description="event types, comma-separated")
    ] = None,
    school_id: Annotated[str | None, Query(max_length=40)] = None,
    severity: Severity | None = None,
    replay_only: Annotated[
        bool, Query(description="send the missed events and the `ready` event, then end")
    ] = False,
) -> EventStreamResponse:
    filters = _filters(type, school_id, severity)
    since = _position(after, last_event_id)
    hub: Hub = request.app.state.stream
    if not hub.ready.is_set():
        raise HTTPException(
            503, "the event feed is not connected yet", headers={"Retry-After": "1"}
        )
    client, live_from = hub.join()
    session = Session(request, principal, filters, since or live_from)
    try:
        missed = await hub.replay(since, live_from) if since is not None else []
        await session.opened()
    except Gone as exc:
        hub.leave(client)
        raise HTTPException(
            410, f"{exc}; reload the board from the REST API, then stream without a position"
        ) from exc
    except BaseException:
        hub.leave(client)
        raise
    body = session.events(missed, live_from, client, hub, replay_only=replay_only)
    headers = {"X-Accel-Buffering": "no"}  # a proxy in front must not buffer the stream
    return EventStreamResponse(body, on_disconnect=client.end, headers=headers)


class Session:
    """One client's stream: what it was sent, and which children it has been shown."""

    def __init__(
        self, request: Request, principal: Principal, filters: Filters, sent: Position
    ) -> None:
        state = request.app.state
        self.principal, self.filters, self.sent = principal, filters, sent
        self.index: ScopeIndex = state.stream_index
        self.audit: AuditLog = state.audit
        self.id = uuid.uuid4().hex
        self.shown: set[tuple[str | None, str | None]] = set()

    async def opened(self) -> None:
        await self.audit.append(
            Event.by(
                self.principal,
                action="stream",
                object_type="stream",
                object_id=self.id,
                outcome="allowed",
                status=200,
                trace_id=current_trace_id(),
            )
        )

    async def frames(self, items: list[Item]) -> str:
        """The SSE text for the items this client has not had and may see; audits every
        child shown for the first time in this session before the text leaves. A message (a
        carrier's parts) is had whole: the last part sent has the position after it as `id`,
        an earlier part the one before it (resumed from, the message comes again)."""
        out: list[str] = []
        first: list[Event] = []
        for parts in messages(items):
            if self.sent.has(parts[0]):
                continue  # the replay and the live feed overlap: each message once
            before, self.sent = self.sent.before(parts[0]), self.sent.after(parts[0])
            seen = [
                i
                for i in parts
                if admits(self.principal, self.filters, i.envelope, self.index.facts_of(i))
            ]
            for n, item in enumerate(seen, 1):
                subject = child_of(item.envelope)
                if subject != (None, None) and subject not in self.shown:
                    self.shown.add(subject)
                    first.append(self._shown(*subject))
                out.append(_frame(item, self.sent if n == len(seen) else before))
        if first:
            await self.audit.append(*first)
        return "".join(out)

    def _shown(self, child_ref: str | None, case_id: str | None) -> Event:
        return Event.by(
            self.principal,
            action="read",
            object_type="case" if case_id else "stream",
            object_id=case_id or self.id,
            child_ref=child_ref,
            outcome="allowed",
            status=200,
            trace_id=current_trace_id(),
        )

    async def events(
        self,
        missed: list[Item],
        live_from: Position,
        client: Subscriber,
        hub: Hub,
        *,
        replay_only: bool,
    ) -> AsyncGenerator[str, None]:
        try:
            yield f"retry: {RETRY_MS}\n\n"
            for item in missed:
                self.index.observe(item)  # places events from before this replica started
            if text := await self.frames(missed):
                yield text
            self.sent = Position(max(a, b) for a, b in zip(self.sent, live_from, strict=True))
            yield f"id: {self.sent.encode()}\nevent: ready\ndata: {{}}\n\n"
            if replay_only:
                return
            async for batch in _batches(client):
                if batch is None:
                    yield ": heartbeat\n\n"
                    continue
                if text := await self.frames(batch):
                    yield text
            if client.cut:
                yield 'event: cut\ndata: {"detail":"too far behind; reconnect"}\n\n'
        finally:
            hub.leave(client)


def _frame(item: Item, position: Position) -> str:
    """One SSE message; a live event's is built once for every client at its position (just
    after its message, or just before it for a part that is not the client's last)."""
    key = "frame" if position == item.position else "before" if position == item.before else ""
    text: str | None = item.shaped.get(key) if key else None
    if text is None:
        text = f"id: {position.encode()}\nevent: {item.envelope.type}\ndata: {shaped(item)}\n\n"
        if key:
            item.shaped[key] = text
    return text


async def _batches(client: Subscriber) -> AsyncIterator[list[Item] | None]:
    """What the queue holds, a batch at a time; None for the hub's heartbeat. Ends at the end
    marker (cut off, disconnected, or the gateway stopping)."""
    queue = client.queue
    while True:
        batch: list[Item] = []
        entry = await queue.get()
        while isinstance(entry, Item):
            batch.append(entry)
            if queue.empty():
                break
            entry = queue.get_nowait()  # a heartbeat among events is dropped: not needed
        if batch:
            yield batch
        elif entry is BEAT:
            yield None
        if entry is None:
            return
