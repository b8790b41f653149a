"""Helpers for the event-stream tests: a gateway served over real TCP, and an SSE reader.

httpx's in-process transport returns a response only when the app has finished, which a live
stream never does, so these tests serve the gateway with uvicorn on a free port.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from deploy.launcher import free_port
from tests.support import eventually


@asynccontextmanager
async def serving(app: FastAPI, port: int | None = None) -> AsyncIterator[str]:
    """`app` (its lifespan already entered) on `port` (default: a free one); its base URL."""
    port = port or free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        lifespan="off",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        return server.started

    await eventually(started)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@dataclass
class Message:
    event: str
    id: str | None
    data: Any


@dataclass
class Listener:
    """One open stream: its messages, heartbeats and raw text, as they arrive."""

    status: int = 0
    messages: list[Message] = field(default_factory=list)
    heartbeats: int = 0
    raw: str = ""
    ended: bool = False

    @property
    def events(self) -> list[Message]:
        return [m for m in self.messages if m.event not in ("ready", "cut")]

    @property
    def last_id(self) -> str | None:
        return next((m.id for m in reversed(self.messages) if m.id), None)

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [m.data for m in self.events if m.event == kind]

    async def has(self, kind: str, count: int, within: float = 10.0) -> list[dict[str, Any]]:
        async def probe() -> list[dict[str, Any]]:
            found = self.of_type(kind)
            return found if len(found) >= count else []

        return await eventually(probe, within=within)


async def _read(response: httpx.Response, into: Listener) -> None:
    event, ident, data = "message", None, []
    async for line in response.aiter_lines():
        into.raw += line + "\n"
        if line.startswith(":"):
            into.heartbeats += 1
        elif line.startswith("event: "):
            event = line[7:]
        elif line.startswith("id: "):
            ident = line[4:]
        elif line.startswith("data: "):
            data.append(line[6:])
        elif line == "":
            if data:
                into.messages.append(Message(event, ident, json.loads("\n".join(data))))
            event, ident, data = "message", None, []
    into.ended = True


@asynccontextmanager
async def listening(
    base: str,
    *,
    token: str | None = None,
    params: dict[str, str] | None = None,
    last_id: str | None = None,
    ready: bool = True,
) -> AsyncIterator[Listener]:
    """Open `GET /v1/stream` and read it in the background until the block ends; with `ready`,
    return once the `ready` event (after the replay) has arrived."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if last_id:
        headers["Last-Event-ID"] = last_id
    listener = Listener()
    async with (
        httpx.AsyncClient(base_url=base, timeout=httpx.Timeout(30, read=None)) as http,
        http.stream("GET", "/v1/stream", params=params, headers=headers) as response,
    ):
        listener.status = response.status_code
        if response.status_code != 200:
            await response.aread()
            listener.raw = response.text
            yield listener
            return
        reader = asyncio.create_task(_read(response, listener))
        try:
            if ready:

                async def is_ready() -> bool:
                    return any(m.event == "ready" for m in listener.messages)

                await eventually(is_ready)
            yield listener
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
