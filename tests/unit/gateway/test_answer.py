"""A service's answer as the gateway reads it: its JSON and its next page."""

from __future__ import annotations

import pytest

from gateway.wire import Answer

pytestmark = pytest.mark.unit


def test_the_next_page_is_read_from_the_link_header() -> None:
    link = '<http://svc/tasks?limit=2&after=abc%3D>; rel="next", <http://svc/x>; rel="prev"'
    answer = Answer(200, {"link": link}, b"[]")
    assert answer.next_url() == "http://svc/tasks?limit=2&after=abc%3D"
    assert answer.json() == []


@pytest.mark.parametrize("headers", [{}, {"link": '<http://svc/x>; rel="prev"'}])
def test_no_next_link_means_the_last_page(headers: dict[str, str]) -> None:
    assert Answer(200, headers, b"[]").next_url() is None
