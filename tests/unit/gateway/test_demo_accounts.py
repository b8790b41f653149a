"""The demo accounts' scopes agree with the demo schools school_liaison seeds."""

from __future__ import annotations

import pytest

from gateway.demo import USERS
from services.school_liaison.demo import ORGS, SCHOOLS

pytestmark = pytest.mark.unit


def test_each_officers_beat_is_the_schools_that_name_him_their_community_officer() -> None:
    officers = [u for u in USERS if u.role == "police_officer"]
    assert officers
    for officer in officers:
        covered = {s.id for s in SCHOOLS if s.community_officer_id == officer.username}
        assert set(officer.school_ids) == covered, officer.username
    assert {s.community_officer_id for s in SCHOOLS} == {o.username for o in officers}


def test_account_schools_and_organisations_exist_among_the_demo_schools() -> None:
    schools = {s.id for s in SCHOOLS}
    assert {u.school_id for u in USERS if u.school_id} <= schools
    assert {u.org_id for u in USERS if u.org_id} == set(ORGS)
