"""The patrol rows of the authorization matrix (test_authorization_matrix.py): the video patrol
is the station's, not a beat's, so "somebody else's object" answers as one's own."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any, Protocol

from shared.identity import Role

Request = tuple[str, str, dict[str, Any]]


class Counted(Protocol):
    @property
    def counter(self) -> Any: ...


def video_check(w: Counted, _role: Role, _own: bool) -> Request:
    # One check per school and day: each call watches a day of its own, in the past.
    day = date.today() - timedelta(days=30 + next(w.counter))
    return "POST", "/v1/video-patrol/checks", {"json": {"school_id": "sch-05", "day": str(day)}}


def plain(method: str, path: str) -> Callable[[Counted, Role, bool], Request]:
    def build(_w: Counted, _role: Role, _own: bool) -> Request:
        return method, path, {}

    return build


def same(status: int) -> Callable[[Role], int]:
    return lambda _role: status


ROWS: dict[
    tuple[str, str], tuple[Callable[[Any, Role, bool], Request], int, Callable[[Role], int]]
] = {
    ("POST", "/v1/video-patrol/checks"): (video_check, 201, same(201)),
    ("GET", "/v1/video-patrol/days"): (plain("GET", "/v1/video-patrol/days"), 200, same(200)),
    ("GET", "/v1/video-patrol/days/{day}"): (
        plain("GET", "/v1/video-patrol/days/2026-03-02"),
        200,
        same(200),
    ),
}
