"""Pure rules of the daily video patrol: who records and reads, which day a check belongs to,
what a finding must say, and when the desk is told about unchecked schools. Clock handed in."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from shared.contracts.school import ReportCategory
from shared.contracts.video_patrol import Finding, FindingKind
from shared.events import Timestamp
from shared.identity import Role

HAZARD_DEADLINE_DAYS = 7
AT_RISK_CATEGORY = ReportCategory.psychological_distress
RECORDERS = (Role.police_officer,)  # the designated officer is one of the station's officers
READERS = (Role.police_officer, Role.dispatcher, Role.supervisor)


@dataclass(frozen=True)
class VideoConfig:
    """The schools whose cameras are connected, the station's zone, and the time of day by
    which every school should have been checked."""

    schools: tuple[str, ...]
    zone: ZoneInfo
    check_by: time


class FindingRecord(BaseModel):
    id: str
    kind: FindingKind
    note: str
    category: ReportCategory | None = None
    report_id: str | None = None
    notice_id: str | None = None


class VideoCheck(BaseModel):
    id: str
    day: date
    school_id: str
    officer_id: str
    checked_at: Timestamp
    findings: list[FindingRecord]


class Refusal(Exception):
    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


def check_id(day: date, school_id: str) -> str:
    """One check per school and day: the id is the key."""
    return f"vpc-{day.isoformat()}-{school_id}"


def local_day(now: datetime, zone: ZoneInfo) -> date:
    return now.astimezone(zone).date()


def day_of_check(given: date | None, *, now: datetime, config: VideoConfig) -> date:
    today = local_day(now, config.zone)
    if given is None:
        return today
    if given > today:
        raise Refusal("a day still to come cannot have been watched", field="day")
    return given


def check_findings(findings: Sequence[Finding]) -> None:
    """A category belongs to a student at risk, a deadline to a hazard; nothing else."""
    for f in findings:
        if f.category is not None and f.kind is not FindingKind.student_at_risk:
            raise Refusal("only a student_at_risk finding has a category", field="findings")
        if f.deadline_days is not None and f.kind is not FindingKind.hazard:
            raise Refusal("only a hazard has deadline_days", field="findings")


def missing(schools: Sequence[str], checked: Iterable[str]) -> list[str]:
    done = set(checked)
    return [s for s in schools if s not in done]


def alert_due_day(now: datetime, config: VideoConfig) -> date | None:
    """The local day whose check-by time has passed at `now` (today), else None."""
    local = now.astimezone(config.zone)
    return local.date() if local.time() >= config.check_by else None
