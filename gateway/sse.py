"""A Server-Sent Events response built for fan-out: hundreds of clients, each sent every event.

Starlette's StreamingResponse runs a task group per response and sends each chunk down the whole
middleware chain; with 200 clients and 50 events a second that was most of the gateway's CPU.
Here the response start and its end go through the chain (security headers, metrics and spans
see them as for any response), the chunks in between go straight to the server
(`SERVER_SEND`), and one idle task per client waits for the client to leave.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Callable

from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from shared.app import SERVER_SEND


class EventStreamResponse(StreamingResponse):
    media_type = "text/event-stream"

    def __init__(
        self,
        body: AsyncGenerator[str, None],
        *,
        on_disconnect: Callable[[], None],
        headers: dict[str, str] | None = None,
        status_code: int = 200,  # FastAPI reads the default for the OpenAPI document
    ) -> None:
        super().__init__(body, status_code, headers, self.media_type)
        self._body = body
        self._on_disconnect = on_disconnect

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        direct: Send = scope.get(SERVER_SEND, send)
        watcher = asyncio.create_task(self._watch(receive))
        try:
            async with contextlib.aclosing(self._body) as chunks:
                async for chunk in chunks:
                    await direct(
                        {"type": "http.response.body", "body": chunk.encode(), "more_body": True}
                    )
        finally:
            watcher.cancel()
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _watch(self, receive: Receive) -> None:
        """Ends the body when the client disconnects (the server drops what is sent after)."""
        while (await receive())["type"] != "http.disconnect":
            pass
        self._on_disconnect()
