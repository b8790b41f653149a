"""Demo accounts for `make run` in demo mode only (password DEMO_PASSWORD).

An account's scope (an officer's beat, a social worker's organisation) is the identity
directory's own record, as an administrator would enter it; it matches the demo schools that
school_liaison seeds (services/school_liaison/demo.py), which a test checks.
"""

from __future__ import annotations

from dataclasses import dataclass

DEMO_PASSWORD = "demo"  # noqa: S105 - demo accounts exist only in demo mode
OFFICERS = 7  # community officers, three neighbouring schools each
SOCIAL_ORGS = ("org-rainbow", "org-sunflower", "org-harbour")


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str
    display_name: str
    school_id: str | None = None
    org_id: str | None = None
    school_ids: tuple[str, ...] = ()


def _beat(k: int) -> tuple[str, ...]:
    return tuple(f"sch-{n:02d}" for n in range(3 * k - 2, 3 * k + 1))


def _users() -> tuple[DemoUser, ...]:
    users = [
        DemoUser("teacher1", "teacher", "Teacher at school 1", school_id="sch-01"),
        DemoUser("teacher2", "teacher", "Teacher at school 2", school_id="sch-02"),
        DemoUser("teacher10", "teacher", "Teacher at school 10", school_id="sch-10"),
        DemoUser("safety1", "school_safety_lead", "Safety lead, school 1", school_id="sch-01"),
        # The liaison-station school's counselling teacher (services/school_liaison/demo.py).
        DemoUser("teacher4", "teacher", "Counselling teacher, school 4", school_id="sch-04"),
        # Campaign participants: the schools of their grid, no case access.
        DemoUser("grid1", "grid_worker", "Grid worker", school_ids=_beat(1)),
        DemoUser("volunteer1", "safety_volunteer", "Safety volunteer", school_ids=_beat(1)),
    ]
    for k in range(1, OFFICERS + 1):
        users.append(
            DemoUser(f"officer{k}", "police_officer", f"Community officer {k}", school_ids=_beat(k))
        )
    for k, org in enumerate(SOCIAL_ORGS, start=1):
        users.append(DemoUser(f"social{k}", "social_worker", f"Social worker, {org}", org_id=org))
    users += [
        DemoUser("dispatcher1", "dispatcher", "Duty dispatcher"),
        DemoUser("supervisor1", "supervisor", "Station instructor"),
        DemoUser("auditor1", "auditor", "Data-protection auditor"),
        DemoUser("admin1", "admin", "Platform administrator"),
    ]
    return tuple(users)


USERS: tuple[DemoUser, ...] = _users()
