"""Lists at the gateway: a service's page passed on, its next page at the gateway's own URL.

The convention is shared/paging.py's: a JSON array, the next page in `Link: rel="next"`.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qs, urlsplit

from fastapi import Query, Request, Response

from gateway.clients import Services
from gateway.wire import Answer
from shared.identity import Principal
from shared.paging import AFTER_PARAM, LINK_RESPONSE, next_link, parse_after


def paged(errors: dict[int | str, dict[str, Any]]) -> dict[int | str, dict[str, Any]]:
    """A list route's OpenAPI responses: its errors, the `Link` header, a 422 for a bad page."""
    return {
        **errors,
        200: LINK_RESPONSE,
        422: {"description": "a bad filter, limit or page cursor (the `loc` names it)"},
    }


Limit = Annotated[int, Query(ge=1, le=500, description="page size")]


async def relay_page(
    services: Services,
    service: str,
    path: str,
    *,
    request: Request,
    principal: Principal,
    params: dict[str, Any],
    after: str | None,
) -> Response:
    """A service's page passed on as it is, its next page announced at the gateway's URL."""
    parse_after(after)  # a bad cursor is refused here, not a service's call later
    answer = await services.call(
        service, "GET", path, principal=principal, params={**params, AFTER_PARAM: after}
    )
    headers = {}
    if answer.status_code == 200 and (token := _next_after(answer)) is not None:
        headers["Link"] = next_link(request, token) or ""
    return Response(
        answer.content,
        status_code=answer.status_code,
        media_type=answer.headers.get("content-type", "application/json"),
        headers=headers,
    )


def _next_after(answer: Answer) -> str | None:
    url = answer.next_url()
    if url is None:
        return None
    return parse_qs(urlsplit(url).query).get(AFTER_PARAM, [None])[0]
