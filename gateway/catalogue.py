"""`/asyncapi.json`: the event catalogue (shared/asyncapi.py), public like `/openapi.json`.

Partners subscribe to events (the stream, webhooks) and generate their readers from it; it
describes contracts, not data, so it needs no token.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Request, Response

from shared.asyncapi import document

router = APIRouter(include_in_schema=False)


def rendered() -> bytes:
    """Built once per app (create_app): the contracts do not change while it runs."""
    return json.dumps(document(), ensure_ascii=False, separators=(",", ":")).encode()


@router.get("/asyncapi.json")
async def asyncapi(request: Request) -> Response:
    return Response(request.app.state.asyncapi, media_type="application/json")
