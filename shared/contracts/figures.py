"""The year's figures (patrol's projection of the streams): GET /v1/stats?year=."""

from __future__ import annotations

from pydantic import BaseModel, Field


class TaskFigures(BaseModel):
    created: int = 0
    acknowledged: int = 0
    ack_median_s: float | None = Field(default=None, description="creation → acknowledgement")
    ack_p90_s: float | None = None
    completed: int = 0
    done_median_s: float | None = Field(default=None, description="creation → completion")
    done_p90_s: float | None = None


class NoticeFigures(BaseModel):
    inspections: int = 0
    notices_issued: int = 0
    notices_closed: int = 0
    notices_overdue: int = 0


class YearFigures(BaseModel):
    year: int
    scope: str = Field(description='"station", or the school the caller belongs to')
    schools_watched: int = Field(description="schools whose cameras the video patrol watches")
    reports_by_category: dict[str, int]
    reports_by_severity: dict[str, int]
    reports_by_school: dict[str, int]
    cases_opened: int
    cases_closed: int
    cases_under_monitoring: int = Field(
        description="distinct cases put under monitoring or followed up in the year"
    )
    tasks_by_kind: dict[str, TaskFigures]
    escalations: dict[str, int] = Field(description="by step: the desk, then the supervisor")
    dispositions_by_kind: dict[str, int]
    counselling_held: int
    counselling_missed: int
    education_events: int
    education_audience: int
    school_inspections: NoticeFigures
    venue_inspections: NoticeFigures
    venues_with_letters: int
    video_days_logged: int
    video_days_complete: int = Field(description="days with every connected school checked")
