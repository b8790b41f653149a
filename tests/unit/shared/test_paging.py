"""The list convention: the next page in an RFC 8288 Link header, the cursor opaque."""

from __future__ import annotations

from typing import Any, cast

import pytest
from fastapi import HTTPException
from starlette.requests import Request

from shared.paging import next_link, parse_after
from shared.store import Cursor

pytestmark = pytest.mark.unit


def _request(query: str) -> Request:
    scope = {
        "type": "http",
        "method": "GET",
        "scheme": "https",
        "server": ("api.example", 443),
        "path": "/v1/audit",
        "query_string": query.encode(),
        "headers": [(b"host", b"api.example")],
    }
    return Request(scope)


def test_the_next_link_keeps_the_filters_and_replaces_the_cursor() -> None:
    cursor = Cursor("2026-01-01T00:00:00.000000+00:00", "gw:000000000007")
    link = next_link(_request("actor=x&limit=2&after=old"), cursor)
    assert link is not None
    assert link.endswith('>; rel="next"')
    url = link[1 : link.index(">")]
    assert url.startswith("https://api.example/v1/audit?")
    assert "actor=x" in url
    assert "limit=2" in url
    assert "after=old" not in url
    token = url.split("after=")[1]
    assert parse_after(token) == cursor


def test_the_last_page_has_no_link() -> None:
    assert next_link(_request("limit=2"), None) is None


@pytest.mark.parametrize("token", ["not-a-cursor", "W10", "eyJhIjoxfQ"])
def test_a_cursor_we_did_not_make_is_a_422_naming_after(token: str) -> None:
    with pytest.raises(HTTPException) as caught:
        parse_after(token)
    assert caught.value.status_code == 422
    detail = cast(list[dict[str, Any]], caught.value.detail)
    assert detail[0]["loc"] == ["query", "after"]
