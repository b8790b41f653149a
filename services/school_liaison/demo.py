"""Demo schools for `make run` in demo mode only: the district's 21 schools, which community
officer and which social-work organisation covers each.

Figures follow the source text (one station, 21 schools, one liaison-station school, the
Rainbow social-work organisation). Never loaded outside demo mode.
"""

from __future__ import annotations

from dataclasses import dataclass

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
