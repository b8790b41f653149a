"""Settings every process shares; each service subclasses with its own env prefix."""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Known demo secrets: allowed only in demo mode, refused anywhere else.
DEMO_INTERNAL_SECRET = "demo-internal-secret-change-me-0123456789"
DEMO_JWT_SECRET = "demo-jwt-secret-change-me-0123456789abcdef"
DEMO_PII_KEY = "ZGVtby1waWkta2V5LWNoYW5nZS1tZS0wMTIzNDU2Nzg="  # base64 of 32 bytes
DEMO_AUDIT_KEY = "demo-audit-key-change-me-0123456789abcdef"
DEMO_SECRETS = frozenset({DEMO_INTERNAL_SECRET, DEMO_JWT_SECRET, DEMO_PII_KEY, DEMO_AUDIT_KEY})


class BaseServiceSettings(BaseSettings):
    """Common knobs. Subclasses set `model_config = SettingsConfigDict(env_prefix=...)`."""

    model_config = SettingsConfigDict(env_prefix="HULEI_", extra="ignore")

    demo_mode: bool = Field(default=False, description="seed demo data and accept demo secrets")
    host: str = "127.0.0.1"
    port: int = 8100
    nats_url: str = "nats://127.0.0.1:4222"
    store_url: str = Field(
        default="sqlite:///var/store.db", description="sqlite:///path or mongodb://…"
    )
    internal_secret: str = Field(default=DEMO_INTERNAL_SECRET, min_length=32)
    stream_replicas: int = Field(default=1, ge=1, le=5)
    max_deliver: int = Field(default=10, ge=2, description="deliveries before dead-lettering")
    retry_base_s: float = Field(default=0.5, gt=0, description="first redelivery delay")
    retry_cap_s: float = Field(default=30.0, gt=0, description="longest redelivery delay")
    log_level: str = "INFO"
    otel_exporter: str = Field(
        default="none",
        pattern=r"^(none|console|otlp|file:.+)$",
        description="none | console | otlp | file:<path>",
    )

    @model_validator(mode="after")
    def _refuse_demo_secrets(self) -> BaseServiceSettings:
        if self.demo_mode:
            return self
        for name, value in self.secret_fields().items():
            if value in DEMO_SECRETS:
                raise ValueError(
                    f"{name} still has its demo default; set a real secret or enable demo mode"
                )
        return self

    def secret_fields(self) -> dict[str, str]:
        return {"internal_secret": self.internal_secret}
