"""The patrol rows of the authorization matrix (test_authorization_matrix.py). The video patrol
and the venue registry are the station's, not a beat's: "somebody else's object" is another
officer's venue, which only its officer in charge (or the supervisor) may change."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from services.patrol.venues.domain import CHECKLISTS
from shared.contracts.venues import VenueKind
from shared.identity import Role
from tests.support import Gateway

Request = tuple[str, str, dict[str, Any]]


@dataclass
class PatrolWorld:
    own_venue: str  # officer1's
    other_venue: str  # officer4's
    counter: itertools.count[int]


def venue_body(officer: str | None = None) -> dict[str, Any]:
    return {
        "name": "Matrix Hotel",
        "kind": "hotel",
        "area": "grid-matrix",
        "address": "1 Matrix Road",
        "nearest_school_id": "sch-01",
        "distance_m": 300,
        "contact": {"name": "Manager", "phone": "0351-6000"},
        "officer_id": officer,
    }


async def build_patrol_world(gw: Gateway) -> PatrolWorld:
    ids = []
    for officer in ("officer1", "officer4"):
        r = await gw.call("supervisor1", "POST", "/v1/venues", json=venue_body(officer))
        assert r.status_code == 201, r.text
        ids.append(str(r.json()["id"]))
    return PatrolWorld(own_venue=ids[0], other_venue=ids[1], counter=itertools.count(1))


def video_check(w: PatrolWorld, _role: Role, _own: bool) -> Request:
    # One check per school and day: each call watches a day of its own, in the past.
    day = date.today() - timedelta(days=30 + next(w.counter))
    return "POST", "/v1/video-patrol/checks", {"json": {"school_id": "sch-05", "day": str(day)}}


def plain(method: str, path: str) -> Callable[[PatrolWorld, Role, bool], Request]:
    def build(_w: PatrolWorld, _role: Role, _own: bool) -> Request:
        return method, path, {}

    return build


def on_venue(
    method: str, tail: str, body: Any = None
) -> Callable[[PatrolWorld, Role, bool], Request]:
    def build(w: PatrolWorld, _role: Role, own: bool) -> Request:
        kwargs = {"json": body} if body is not None else {}
        return method, f"/v1/venues/{w.own_venue if own else w.other_venue}{tail}", kwargs

    return build


LETTER = {"signed_on": "2026-01-10", "expires_on": "2029-01-09"}
HOTEL = {"results": [{"item": i.code, "passed": True} for i in CHECKLISTS[VenueKind.hotel]]}


def same(status: int) -> Callable[[Role], int]:
    return lambda _role: status


def in_charge(status: int) -> Callable[[Role], int]:
    """Another officer's venue: refused, unless the supervisor may too."""
    return lambda role: status if role is Role.supervisor else 403


Row = tuple[Callable[[PatrolWorld, Role, bool], Request], int, Callable[[Role], int]]
ROWS: dict[tuple[str, str], Row] = {
    ("POST", "/v1/video-patrol/checks"): (video_check, 201, same(201)),
    ("GET", "/v1/video-patrol/days"): (plain("GET", "/v1/video-patrol/days"), 200, same(200)),
    ("GET", "/v1/video-patrol/days/{day}"): (
        plain("GET", "/v1/video-patrol/days/2026-03-02"),
        200,
        same(200),
    ),
    ("POST", "/v1/venues"): (
        lambda _w, _r, _o: ("POST", "/v1/venues", {"json": venue_body()}),
        201,
        same(201),
    ),
    ("GET", "/v1/venues"): (plain("GET", "/v1/venues"), 200, same(200)),
    ("GET", "/v1/venues/{venue_id}"): (on_venue("GET", ""), 200, same(200)),
    ("PUT", "/v1/venues/{venue_id}/letter"): (
        on_venue("PUT", "/letter", LETTER),
        200,
        in_charge(200),
    ),
    ("POST", "/v1/venues/{venue_id}/inspections"): (
        on_venue("POST", "/inspections", HOTEL),
        201,
        in_charge(201),
    ),
    ("GET", "/v1/venues/{venue_id}/inspections"): (on_venue("GET", "/inspections"), 200, same(200)),
    ("GET", "/v1/venue-areas"): (plain("GET", "/v1/venue-areas"), 200, same(200)),
}
