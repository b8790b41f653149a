"""`/console`: the duty desk's board, a few plain files served by the gateway itself.

No CDN and no build step: HTML, CSS, a few plain scripts and the message catalogues under
gateway/console/. The page calls only its own origin, so its Content-Security-Policy allows
nothing else (no inline script or style, no framing).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, HTTPException
from fastapi import Path as PathParam
from fastapi.responses import FileResponse

ASSETS = Path(__file__).resolve().parent / "console"
TYPES = {
    "index.html": "text/html; charset=utf-8",
    "console.js": "text/javascript; charset=utf-8",
    "live.js": "text/javascript; charset=utf-8",
    "case.js": "text/javascript; charset=utf-8",
    "reassign.js": "text/javascript; charset=utf-8",
    "figures.js": "text/javascript; charset=utf-8",
    "console.css": "text/css; charset=utf-8",
    "messages/zh-CN.json": "application/json",
    "messages/en.json": "application/json",
}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

router = APIRouter(include_in_schema=False)


def _file(name: str) -> FileResponse:
    media = TYPES.get(name)
    if media is None:  # only the listed files: no path is ever joined from the request
        raise HTTPException(404, "not found")
    return FileResponse(ASSETS / name, media_type=media, headers={"Content-Security-Policy": CSP})


@router.get("/console")
async def console() -> FileResponse:
    return _file("index.html")


@router.get("/console/{name:path}")
async def asset(name: Annotated[str, PathParam(max_length=60)]) -> FileResponse:
    return _file(name)
