from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="HULEI_NOTIFICATIONS_", extra="ignore")

    port: int = 8104
    store_url: str = "sqlite:///var/notifications.db"
