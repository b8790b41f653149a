from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="HULEI_NOTIFICATIONS_", extra="ignore")

    port: int = 8104
    store_url: str = "sqlite:///var/notifications.db"
    # Partner webhooks (docs/webhooks.md).
    webhook_allow_hosts: str = Field(
        default="",
        description="comma-separated host names, addresses or networks (CIDR) that may be "
        "called although private or loopback, and over plain http",
    )
    webhook_timeout_s: float = Field(default=5.0, gt=0, le=30)
    webhook_max_response_bytes: int = Field(default=4096, ge=1, le=65536)
    webhook_concurrency: int = Field(default=16, ge=1, le=256)
    webhook_batch: int = Field(default=100, ge=1, le=1000)
    webhook_poll_s: float = Field(default=0.5, gt=0, le=60)
