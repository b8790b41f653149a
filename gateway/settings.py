from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from shared.settings import DEMO_AUDIT_KEY, DEMO_JWT_SECRET, BaseServiceSettings


class Settings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="HULEI_GATEWAY_", extra="ignore")

    port: int = 8000
    store_url: str = "sqlite:///var/gateway.db"
    jwt_secret: str = Field(default=DEMO_JWT_SECRET, min_length=32)
    jwt_issuer: str = "hulei"
    jwt_audience: str = "hulei-api"
    # Keys the audit trail's MAC chain and signs its checkpoints; only the gateway has it.
    audit_key: SecretStr = Field(default=SecretStr(DEMO_AUDIT_KEY), min_length=32)
    audit_checkpoint_s: float = Field(
        default=30.0, gt=0, le=60, description="how often the audit heads are checkpointed"
    )
    audit_chain: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9-]{1,40}$",
        description="continue this audit chain (a stable instance name); unset: a new one",
    )
    token_ttl_s: int = Field(default=900, ge=60, le=86400, description="short-lived tokens")
    rate_per_s: float = Field(default=20.0, gt=0, description="requests a second per client")
    rate_burst: int = Field(default=60, ge=1)
    login_max_failures: int = Field(default=5, ge=1)
    login_window_s: float = Field(default=300.0, gt=0)
    cors_origins: list[str] = Field(default_factory=list, description="closed unless listed")
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    service_timeout_s: float = Field(default=5.0, gt=0)
    school_liaison_url: str = "http://127.0.0.1:8101"
    case_tracking_url: str = "http://127.0.0.1:8102"
    patrol_url: str = "http://127.0.0.1:8103"
    notifications_url: str = "http://127.0.0.1:8104"

    def secret_fields(self) -> dict[str, str]:
        return {
            **super().secret_fields(),
            "jwt_secret": self.jwt_secret,
            "audit_key": self.audit_key.get_secret_value(),
        }

    def service_urls(self) -> dict[str, str]:
        return {
            "school_liaison": self.school_liaison_url,
            "case_tracking": self.case_tracking_url,
            "patrol": self.patrol_url,
            "notifications": self.notifications_url,
        }
