"""`/asyncapi.json`: the event catalogue (shared/asyncapi.py), public like `/openapi.json`.

Partners subscribe to events (the stream, webhooks) and generate their readers from it; it
describes contracts, not data, so it needs no token.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Request, Response

from shared.asyncapi import document

router = APIRouter(include_in_schema=False)


@router.get("/asyncapi.json")
async def asyncapi(request: Request) -> Response:
    """Built on the first request, not at start-up, and kept: the contracts do not change
    while the gateway runs."""
    state = request.app.state
    body: bytes | None = getattr(state, "asyncapi", None)
    if body is None:
        body = state.asyncapi = json.dumps(
            document(), ensure_ascii=False, separators=(",", ":")
        ).encode()
    return Response(body, media_type="application/json")
