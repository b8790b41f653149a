"""`make run`'s demo data, shaped on the source's figures, shows them in the year's figures:
21 schools watched, two venues with fire hazards, four dispositions of detention not executed,
six children under monitoring (every service's demo seeded, through the real streams)."""

from __future__ import annotations

from typing import Any

import pytest

from shared.events import utcnow
from tests.support import Gateway, eventually


@pytest.fixture
def demo_data() -> dict[str, bool]:
    return {
        "demo_programme": True,
        "demo_cases": True,
        "demo_casework": True,
        "demo_inspections": True,
        "demo_video": True,
        "demo_venues": True,
        "demo_shifts": True,
    }


async def test_the_demo_data_shows_the_sources_figures(gateway: Gateway) -> None:
    year = utcnow().year

    async def seeded() -> dict[str, Any] | None:
        got: dict[str, Any] = (await gateway.get("dispatcher1", "/v1/stats", year=year)).json()
        done = got["cases_under_monitoring"] == 6 and got["dispositions_by_kind"]
        return got if done and got["venue_inspections"]["notices_issued"] == 2 else None

    got = await eventually(seeded, within=120, interval=0.5)
    assert got["schools_watched"] == 21
    assert got["venue_inspections"]["notices_issued"] == 2  # two fire hazards
    assert got["dispositions_by_kind"] == {"detention_not_executed": 4}
    assert got["cases_under_monitoring"] == 6
    assert got["cases_opened"] >= 6
