"""The video patrol's pure rules, with the clock handed in."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from services.patrol.video import domain
from services.patrol.video.domain import VideoConfig
from shared.contracts.video_patrol import Finding, FindingKind

ZONE = ZoneInfo("Asia/Shanghai")
CONFIG = VideoConfig(schools=("sch-01", "sch-02", "sch-03"), zone=ZONE, check_by=time(16, 0))


def test_the_day_is_the_stations_local_date() -> None:
    late_utc = datetime(2026, 3, 2, 17, 30, tzinfo=UTC)  # 01:30 on 3 March in Beijing
    assert domain.day_of_check(None, now=late_utc, config=CONFIG) == date(2026, 3, 3)
    assert domain.day_of_check(date(2026, 3, 1), now=late_utc, config=CONFIG) == date(2026, 3, 1)


def test_a_day_still_to_come_is_refused_naming_day() -> None:
    now = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    with pytest.raises(domain.Refusal) as refused:
        domain.day_of_check(date(2026, 3, 3), now=now, config=CONFIG)
    assert refused.value.field == "day"


@pytest.mark.parametrize(
    "finding",
    [
        Finding(kind=FindingKind.hazard, note="x", category="truancy"),
        Finding(kind=FindingKind.other, note="x", deadline_days=3),
        Finding(kind=FindingKind.student_at_risk, note="x", deadline_days=3),
    ],
)
def test_a_field_that_does_not_fit_the_finding_is_refused(finding: Finding) -> None:
    with pytest.raises(domain.Refusal) as refused:
        domain.check_findings([finding])
    assert refused.value.field == "findings"


def test_fitting_findings_pass() -> None:
    domain.check_findings(
        [
            Finding(kind=FindingKind.hazard, note="x", deadline_days=3),
            Finding(kind=FindingKind.student_at_risk, note="x", category="bullying_victim"),
            Finding(kind=FindingKind.other, note="x"),
        ]
    )


def test_the_alert_is_due_once_the_local_check_by_time_has_passed() -> None:
    before = datetime(2026, 3, 2, 7, 59, tzinfo=UTC)  # 15:59 in Beijing
    at = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # 16:00
    assert domain.alert_due_day(before, CONFIG) is None
    assert domain.alert_due_day(at, CONFIG) == date(2026, 3, 2)


def test_missing_keeps_the_configured_order() -> None:
    assert domain.missing(CONFIG.schools, ["sch-02"]) == ["sch-01", "sch-03"]
    assert domain.missing(CONFIG.schools, CONFIG.schools) == []
