from __future__ import annotations

from datetime import time

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="HULEI_PATROL_", extra="ignore")

    port: int = 8103
    store_url: str = "sqlite:///var/patrol.db"
    rectification_sweep_s: float = Field(
        default=300.0, gt=0, description="seconds between overdue-rectification sweeps"
    )
    video_schools: tuple[str, ...] = Field(
        default=tuple(f"sch-{n:02d}" for n in range(1, 22)),
        description="the schools whose cameras the video patrol watches (JSON list)",
    )
    station_zone: str = Field(default="Asia/Shanghai", description="the station's time zone")
    video_check_by: time = Field(
        default=time(16, 0), description="local time by which every school should be checked"
    )
    video_sweep_s: float = Field(
        default=300.0, gt=0, description="seconds between checks for unchecked schools"
    )
    letter_notice_days: int = Field(
        default=30, ge=1, le=365, description="days before a letter's expiry its officer is told"
    )
    letter_sweep_s: float = Field(default=3600.0, gt=0, description="seconds between letter sweeps")
    post_grace_min: int = Field(
        default=10, ge=1, le=120, description="minutes after a post's start before the desk is told"
    )
    post_sweep_s: float = Field(default=60.0, gt=0, description="seconds between post sweeps")
    # Demo mode only: a term's inspections (tests that do not need them skip them).
    demo_inspections: bool = Field(default=True, description="seed the demo inspections")
    demo_video: bool = Field(default=True, description="seed a month of video-patrol logs")
    demo_venues: bool = Field(default=True, description="seed venues, letters and inspections")
    demo_shifts: bool = Field(default=True, description="seed a week of shifts and gate posts")
