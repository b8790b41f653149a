"""Helpers for the task tests: a child's tasks through the gateway, inboxes, and the events a
stream holds (read as `admin`)."""

from __future__ import annotations

import json
from typing import Any

import nats.js.errors

from shared.bus import Bus
from shared.streams import subject_matches
from tests.support import REPORT, Gateway, eventually


async def new_child(
    gw: Gateway, name: str, *, user: str = "teacher1", **fields: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A report about a new child (by name); its police and social task, once created."""
    body = {**REPORT, **fields, "student": {"name": name}}
    report = await gw.file(user, body)
    assert report.status_code == 201, report.text
    tasks = await gw.tasks_of(report.json()["id"], 2, reader=user)
    police = next(t for t in tasks if t["agency"] == "police")
    social = next(t for t in tasks if t["agency"] == "social_work")
    return police, social


async def _inbox(gw: Gateway, user: str) -> list[dict[str, Any]]:
    answer = await gw.get(user, "/v1/notifications", limit=500)
    assert answer.status_code == 200, answer.text
    entries: list[dict[str, Any]] = answer.json()
    return entries


async def notice(
    gw: Gateway, user: str, *, kind: str, task_id: str, within: float = 5.0
) -> dict[str, Any]:
    """Wait for the notice of `kind` about the task in the user's inboxes."""

    async def probe() -> dict[str, Any] | None:
        inbox = await _inbox(gw, user)
        return next((n for n in inbox if (n["kind"], n["task_id"]) == (kind, task_id)), None)

    return await eventually(probe, within=within)


async def notices(gw: Gateway, user: str, *, task_id: str) -> list[str]:
    return [n["kind"] for n in await _inbox(gw, user) if n["task_id"] == task_id]


async def stream_events(bus: Bus, stream: str, subject: str = ">") -> list[dict[str, Any]]:
    """Every message of the stream on `subject`, decoded, oldest first."""
    info = await bus.js.stream_info(stream)
    found: list[dict[str, Any]] = []
    if not info.state.messages:
        return found
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        try:
            msg = await bus.js.get_msg(stream, seq)
        except nats.js.errors.NotFoundError:
            continue  # deleted (a replaced schedule)
        if msg.subject and subject_matches(subject, msg.subject):
            found.append({"subject": msg.subject, **json.loads(msg.data or b"{}")})
    return found


async def stream_text(bus: Bus, *streams: str) -> str:
    return "".join([json.dumps(e) for s in streams for e in await stream_events(bus, s)])
