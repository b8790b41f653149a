from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from shared.settings import DEMO_PII_KEY, BaseServiceSettings


class Settings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="HULEI_SCHOOL_LIAISON_", extra="ignore")

    port: int = 8101
    store_url: str = "sqlite:///var/school_liaison.db"
    # base64 of 32 bytes: seals the child's identifying details and keys the pseudonym HMAC
    pii_key: str = DEMO_PII_KEY

    def secret_fields(self) -> dict[str, str]:
        return {**super().secret_fields(), "pii_key": self.pii_key}
