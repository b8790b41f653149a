"""The patrol rows of the authorization matrix (test_authorization_matrix.py). The video patrol
and the venue registry are the station's, not a beat's: "somebody else's object" is another
officer's venue, which only its officer in charge (or the supervisor) may change."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from services.patrol.inspections.domain import VENUE_CHECKLISTS
from shared.contracts.inspections import ChecklistKind
from shared.identity import Role
from tests.support import Gateway

Request = tuple[str, str, dict[str, Any]]


@dataclass
class PatrolWorld:
    own_venue: str  # officer1's
    other_venue: str  # officer4's
    own_post: str  # at sch-01, staffed by officer1, volunteer1 and grid1
    other_post: str  # at sch-10, staffed by officer4
    counter: itertools.count[int]
    suspended: set[str] = field(default_factory=set)  # venues the matrix's calls suspended


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
    posts = []
    for school, staff in (("sch-01", ON_OWN_POST), ("sch-10", {"officer4": "police_officer"})):
        r = await gw.call("dispatcher1", "POST", "/v1/posts", json=post_body(school, staff))
        assert r.status_code == 201, r.text
        posts.append(str(r.json()["id"]))
    return PatrolWorld(
        own_venue=ids[0],
        other_venue=ids[1],
        own_post=posts[0],
        other_post=posts[1],
        counter=itertools.count(1),
    )


ON_OWN_POST = {
    "officer1": "police_officer",
    "volunteer1": "safety_volunteer",
    "grid1": "grid_worker",
}


def post_body(school: str, staff: dict[str, str]) -> dict[str, Any]:
    start = datetime.now(UTC)
    return {
        "school_id": school,
        "slot": "leaving",
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=2)).isoformat(),
        "staff": [{"user_id": u, "role": r} for u, r in staff.items()],
    }


def shift_body() -> dict[str, Any]:
    start = datetime.now(UTC)
    return {
        "kind": "foot",
        "area": "grid-matrix",
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=2)).isoformat(),
        "officers": ["officer1"],
    }


def posts_of(_w: PatrolWorld, _role: Role, own: bool) -> Request:
    return "GET", "/v1/posts", {"params": {"school_id": "sch-01" if own else "sch-10"}}


def check_in(w: PatrolWorld, _role: Role, own: bool) -> Request:
    return "POST", f"/v1/posts/{w.own_post if own else w.other_post}/check-in", {}


def not_on_it(role: Role) -> int:
    """Another school's post: an officer sees it but is not on it; volunteers do not see it."""
    return 403 if role is Role.police_officer else 404


def grid_404(role: Role) -> int:
    return 404 if role in (Role.safety_volunteer, Role.grid_worker) else 200


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
HOTEL = {
    "results": [{"item": i.code, "passed": True} for i in VENUE_CHECKLISTS[ChecklistKind.hotel]]
}


def same(status: int) -> Callable[[Role], int]:
    return lambda _role: status


def venue_status(w: PatrolWorld, role: Role, own: bool) -> Request:
    """Suspend the venue, or reopen it if an earlier call suspended it: each allowed call
    is a legal move (the same status twice would be a 409)."""
    venue = w.own_venue if own else w.other_venue
    suspend = venue not in w.suspended
    if role is Role.supervisor or (role is Role.police_officer and own):  # the calls that pass
        w.suspended ^= {venue}
    body = {"status": "suspended" if suspend else "active", "reason": "Matrix check"}
    return "POST", f"/v1/venues/{venue}/status", {"json": body}


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
    ("POST", "/v1/venues/{venue_id}/status"): (venue_status, 200, in_charge(200)),
    ("POST", "/v1/venues/{venue_id}/inspections"): (
        on_venue("POST", "/inspections", HOTEL),
        201,
        in_charge(201),
    ),
    ("GET", "/v1/venues/{venue_id}/inspections"): (on_venue("GET", "/inspections"), 200, same(200)),
    ("GET", "/v1/venue-areas"): (plain("GET", "/v1/venue-areas"), 200, same(200)),
    ("POST", "/v1/shifts"): (
        lambda _w, _r, _o: ("POST", "/v1/shifts", {"json": shift_body()}),
        201,
        same(201),
    ),
    ("GET", "/v1/shifts"): (plain("GET", "/v1/shifts"), 200, same(200)),
    ("POST", "/v1/posts"): (
        lambda _w, _r, _o: ("POST", "/v1/posts", {"json": post_body("sch-02", ON_OWN_POST)}),
        201,
        same(201),
    ),
    ("GET", "/v1/posts"): (posts_of, 200, grid_404),
    ("POST", "/v1/posts/{post_id}/check-in"): (check_in, 200, not_on_it),
    ("GET", "/v1/stats"): (
        lambda _w, _r, _o: ("GET", "/v1/stats", {"params": {"year": 2026}}),
        200,
        same(200),  # the station's, or the caller's own school's: nobody else's to ask for
    ),
    ("GET", "/v1/patrol-plan"): (
        lambda _w, _r, _o: ("GET", "/v1/patrol-plan", {"params": {"day": "2026-03-02"}}),
        200,
        same(200),
    ),
}
