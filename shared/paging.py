"""The project's list convention: a JSON array, the next page announced in a `Link` header.

    Link: <https://host/v1/audit?actor=x&limit=100&after=WyIy...>; rel="next"   (RFC 8288)

A client follows `rel="next"` until the header is absent. The `after` token is an opaque
`shared.store.Cursor`; an endpoint pages with the store's keyset `find(..., after=cursor)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import HTTPException, Query, Request, Response
from pydantic import BaseModel

from shared.store import Cursor

AFTER_PARAM = "after"

# OpenAPI `responses={200: LINK_RESPONSE}` documents the header on a paged list.
LINK_RESPONSE: dict[str, Any] = {
    "headers": {
        "Link": {
            "description": 'RFC 8288: `<url>; rel="next"` when there is a next page; absent on '
            "the last page. Follow the URL as given.",
            "schema": {"type": "string"},
        }
    }
}

AfterParam = Annotated[
    str | None,
    Query(
        alias=AFTER_PARAM,
        max_length=512,
        description="opaque page cursor, from the previous page's Link header",
    ),
]


def parse_after(token: str | None) -> Cursor | None:
    """The cursor a client handed back; a token we did not make is a 422 naming `after`."""
    if token is None:
        return None
    try:
        return Cursor.decode(token)
    except ValueError as exc:
        detail = [{"loc": ["query", AFTER_PARAM], "msg": str(exc), "type": "value_error"}]
        raise HTTPException(422, detail) from exc


def next_link(request: Request, cursor: Cursor | str | None) -> str | None:
    """The `Link` header value for the page after `cursor` (None: this was the last page); a
    string is a cursor already encoded (one a service handed the gateway)."""
    if cursor is None:
        return None
    token = cursor if isinstance(cursor, str) else cursor.encode()
    url = request.url.include_query_params(**{AFTER_PARAM: token})
    return f'<{url}>; rel="next"'


def set_next_link(response: Response, request: Request, cursor: Cursor | str | None) -> None:
    link = next_link(request, cursor)
    if link is not None:
        response.headers["Link"] = link


def page_response(request: Request, items: Sequence[BaseModel], cursor: Cursor | None) -> Response:
    """A page of views, each encoded once as its own model: FastAPI would validate the list
    against the route's response model again and encode it after, a third of a page's CPU."""
    body = b"[" + b",".join(item.__pydantic_serializer__.to_json(item) for item in items) + b"]"
    response = Response(body, media_type="application/json")
    set_next_link(response, request, cursor)
    return response
