"""Settings every process shares; each service subclasses with its own env prefix."""

from __future__ import annotations

import base64
import binascii
from functools import cached_property

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.identity import load_verify_key, raw_public

# Known demo secrets: allowed only in demo mode, refused anywhere else.
DEMO_JWT_SECRET = "demo-jwt-secret-change-me-0123456789abcdef"  # noqa: S105 - refused outside demo
DEMO_PII_KEY = "ZGVtby1waWkta2V5LWNoYW5nZS1tZS0wMTIzNDU2Nzg="  # base64 of 32 bytes
# The demo Ed25519 pair for internal tokens (base64 of the raw keys). Published here, so a
# service outside demo mode must never trust the public half.
DEMO_INTERNAL_SIGNING_KEY = "D3v8iDa8pifFF3if7EjD4WTL3nuuJIp763G18nj8wOs="
DEMO_INTERNAL_VERIFY_KEY = "2l+XWNYQSnad8CkBz5Zmm500VPglLNa0lq6gHaeXiBk="
DEMO_AUDIT_KEY = "demo-audit-key-change-me-0123456789abcdef"
DEMO_SECRETS = frozenset(
    {
        DEMO_JWT_SECRET,
        DEMO_PII_KEY,
        DEMO_AUDIT_KEY,
        DEMO_INTERNAL_SIGNING_KEY,
        DEMO_INTERNAL_VERIFY_KEY,
    }
)
# Marks a value copied from an example file (.env.example, the k8s dev overlay) unchanged.
PLACEHOLDER = "change-me"


def is_placeholder(value: str) -> bool:
    """CHANGE-ME in the value, or in what it decodes to (a base64 key from an example)."""
    if PLACEHOLDER in value.lower():
        return True
    try:
        decoded = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return PLACEHOLDER.encode() in decoded.lower()


class BaseServiceSettings(BaseSettings):
    """Common knobs. Subclasses set `model_config = SettingsConfigDict(env_prefix=...)`."""

    model_config = SettingsConfigDict(env_prefix="HULEI_", extra="ignore")

    demo_mode: bool = Field(default=False, description="seed demo data and accept demo secrets")
    host: str = "127.0.0.1"
    port: int = 8100
    nats_url: str = Field(default="nats://127.0.0.1:4222", description="tls://… with nats_ca_file")
    # This process's own NATS identity (shared/nats_auth.py); the server refuses anonymous clients.
    nats_user: str | None = None
    nats_password: SecretStr | None = None
    nats_ca_file: str | None = Field(default=None, description="CA that signed the NATS server")
    store_url: str = Field(
        default="sqlite:///var/store.db",
        description="postgresql://user:pass@host/db, sqlite:///path or mongodb://…",
    )
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
        for name, value in self.guarded_values().items():
            if value in DEMO_SECRETS:
                raise ValueError(
                    f"{name} still has its demo default; set a real secret or enable demo mode"
                )
            if is_placeholder(value):
                raise ValueError(
                    f"{name} is still a CHANGE-ME placeholder; set a real secret "
                    "or enable demo mode"
                )
        return self

    def guarded_values(self) -> dict[str, str]:
        """Values that must not keep a demo default or a placeholder outside demo mode: every
        secret, and the key that decides whom a service trusts."""
        return {}


class ServiceSettings(BaseServiceSettings):
    """A service behind the gateway: it trusts internal tokens signed by the gateway's key."""

    # Public: only verifies. PEM or base64 (see shared.identity.load_verify_key).
    internal_verify_key: str = Field(
        default=DEMO_INTERNAL_VERIFY_KEY, description="the gateway's Ed25519 public key"
    )

    @model_validator(mode="after")
    def _readable_verify_key(self) -> ServiceSettings:
        try:
            key = load_verify_key(self.internal_verify_key)
        except ValueError as exc:
            raise ValueError(f"internal_verify_key: {exc}") from exc
        demo = raw_public(load_verify_key(DEMO_INTERNAL_VERIFY_KEY))
        if not self.demo_mode and raw_public(key) == demo:  # the demo key in another encoding
            raise ValueError("internal_verify_key is the demo key; set the gateway's real key")
        return self

    @cached_property
    def verify_key(self) -> Ed25519PublicKey:
        return load_verify_key(self.internal_verify_key)

    def guarded_values(self) -> dict[str, str]:
        return {**super().guarded_values(), "internal_verify_key": self.internal_verify_key}
