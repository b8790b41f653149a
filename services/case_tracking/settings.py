from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="HULEI_CASE_TRACKING_", extra="ignore")

    port: int = 8102
    store_url: str = "sqlite:///var/case_tracking.db"
