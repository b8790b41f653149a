from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from shared.settings import BaseServiceSettings


class Settings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="HULEI_PATROL_", extra="ignore")

    port: int = 8103
    store_url: str = "sqlite:///var/patrol.db"
