from __future__ import annotations

from functools import cached_property

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from shared.identity import load_signing_key, raw_public
from shared.settings import (
    DEMO_AUDIT_KEY,
    DEMO_INTERNAL_SIGNING_KEY,
    DEMO_JWT_SECRET,
    BaseServiceSettings,
)


class Settings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="HULEI_GATEWAY_", extra="ignore")

    port: int = 8000
    store_url: str = "sqlite:///var/gateway.db"
    jwt_secret: SecretStr = Field(default=SecretStr(DEMO_JWT_SECRET), min_length=32)
    # Signs internal tokens to the services; only the gateway holds it. PEM or base64.
    internal_signing_key: SecretStr = SecretStr(DEMO_INTERNAL_SIGNING_KEY)
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
    account_cache_s: float = Field(
        default=1.0,
        ge=0,
        le=10,
        description="how long an account check is reused; another replica sees a revocation "
        "within this (this one at once); 0: never",
    )
    token_ttl_s: int = Field(default=900, ge=60, le=86400, description="short-lived tokens")
    rate_per_s: float = Field(default=20.0, gt=0, description="requests a second per client")
    rate_burst: int = Field(default=60, ge=1)
    login_max_failures: int = Field(
        default=3, ge=1, description="free failures per account and address before delays"
    )
    login_max_delay_s: float = Field(default=300.0, gt=0, description="cap of the growing delay")
    login_source_max_failures: int = Field(
        default=30, ge=1, description="failures per address across accounts in the window"
    )
    login_window_s: float = Field(default=900.0, gt=0, description="failures are remembered")
    cors_origins: list[str] = Field(default_factory=list, description="closed unless listed")
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    service_timeout_s: float = Field(default=5.0, gt=0)
    school_liaison_url: str = "http://127.0.0.1:8101"
    case_tracking_url: str = "http://127.0.0.1:8102"
    patrol_url: str = "http://127.0.0.1:8103"
    notifications_url: str = "http://127.0.0.1:8104"
    stream_heartbeat_s: float = Field(
        default=15.0, gt=0, le=60, description="comment sent on a silent event stream"
    )
    stream_buffer: int = Field(
        default=1000, ge=1, description="events queued per stream client before it is cut off"
    )
    stream_ticket_s: float = Field(default=30.0, gt=0, le=30, description="stream ticket life")
    stream_replay_max: int = Field(
        default=50_000, ge=1, description="missed events replayed; more: 410, reload the board"
    )
    # The NATS identity used only to replay a dead letter (shared/nats_auth.py REPLAYER).
    replayer_nats_user: str | None = None
    replayer_nats_password: SecretStr | None = None

    @model_validator(mode="after")
    def _readable_signing_key(self) -> Settings:
        try:
            key = load_signing_key(self.internal_signing_key.get_secret_value())
        except ValueError as exc:
            raise ValueError(f"internal_signing_key: {exc}") from exc
        demo = raw_public(load_signing_key(DEMO_INTERNAL_SIGNING_KEY).public_key())
        if not self.demo_mode and raw_public(key.public_key()) == demo:  # another encoding
            raise ValueError("internal_signing_key is the demo key; set a real one")
        return self

    @cached_property
    def signing_key(self) -> Ed25519PrivateKey:
        return load_signing_key(self.internal_signing_key.get_secret_value())

    def guarded_values(self) -> dict[str, str]:
        return {
            **super().guarded_values(),
            "jwt_secret": self.jwt_secret.get_secret_value(),
            "internal_signing_key": self.internal_signing_key.get_secret_value(),
            "audit_key": self.audit_key.get_secret_value(),
        }

    def service_urls(self) -> dict[str, str]:
        return {
            "school_liaison": self.school_liaison_url,
            "case_tracking": self.case_tracking_url,
            "patrol": self.patrol_url,
            "notifications": self.notifications_url,
        }
