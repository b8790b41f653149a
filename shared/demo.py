"""Demo data for `make run` in demo mode only: the district's 21 schools and the demo accounts.

Figures follow the source text (one station, 21 schools, one liaison-station school, the
Rainbow social-work organisation). Never loaded outside demo mode.
"""

from __future__ import annotations

from dataclasses import dataclass

DEMO_PASSWORD = "demo"
DISTRICT = "Xijie station district"
LIAISON_SCHOOL = "sch-04"
ORGS = {
    "org-rainbow": "Rainbow Social Work Service Centre",
    "org-sunflower": "Sunflower Family Services",
    "org-harbour": "Harbour Youth Counselling",
}


@dataclass(frozen=True)
class DemoSchool:
    id: str
    name: str
    community_officer_id: str
    social_org_id: str

    @property
    def is_liaison_station(self) -> bool:
        return self.id == LIAISON_SCHOOL


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str
    display_name: str
    school_id: str | None = None
    org_id: str | None = None
    school_ids: tuple[str, ...] = ()


def _school(n: int) -> DemoSchool:
    name = (
        "Jincheng No. 4 Middle School"
        if f"sch-{n:02d}" == LIAISON_SCHOOL
        else f"Xijie School No. {n}"
    )
    officer = f"officer{(n - 1) // 3 + 1}"  # seven community officers, three schools each
    org = list(ORGS)[(n - 1) // 7]  # three organisations, seven schools each
    return DemoSchool(f"sch-{n:02d}", name, officer, org)


SCHOOLS: tuple[DemoSchool, ...] = tuple(_school(n) for n in range(1, 22))


def _users() -> tuple[DemoUser, ...]:
    users = [
        DemoUser("teacher1", "teacher", "Teacher at school 1", school_id="sch-01"),
        DemoUser("teacher2", "teacher", "Teacher at school 2", school_id="sch-02"),
        DemoUser("teacher10", "teacher", "Teacher at school 10", school_id="sch-10"),
        DemoUser("safety1", "school_safety_lead", "Safety lead, school 1", school_id="sch-01"),
    ]
    for k in range(1, 8):
        beat = tuple(s.id for s in SCHOOLS if s.community_officer_id == f"officer{k}")
        users.append(
            DemoUser(f"officer{k}", "police_officer", f"Community officer {k}", school_ids=beat)
        )
    for k, org in enumerate(ORGS, start=1):
        users.append(DemoUser(f"social{k}", "social_worker", f"Social worker, {org}", org_id=org))
    users += [
        DemoUser("dispatcher1", "dispatcher", "Duty dispatcher"),
        DemoUser("supervisor1", "supervisor", "Station instructor"),
        DemoUser("auditor1", "auditor", "Data-protection auditor"),
        DemoUser("admin1", "admin", "Platform administrator"),
    ]
    return tuple(users)


USERS: tuple[DemoUser, ...] = _users()
