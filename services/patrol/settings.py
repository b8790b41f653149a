from __future__ import annotations

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
    # Demo mode only: a term's inspections (tests that do not need them skip them).
    demo_inspections: bool = Field(default=True, description="seed the demo inspections")
