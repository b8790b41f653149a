from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from shared.settings import DEMO_PII_KEY, ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="HULEI_SCHOOL_LIAISON_", extra="ignore")

    port: int = 8101
    store_url: str = "sqlite:///var/school_liaison.db"
    # base64 of 32 bytes: wraps each child's data key and keys the pseudonym HMAC
    pii_key: SecretStr = SecretStr(DEMO_PII_KEY)
    # Three years after a child's last case closed, its details are erased: the general
    # limitation period for civil claims in China (Civil Code art. 188), so a complaint about
    # how a case was handled can still be answered; no longer, as PIPL art. 19 asks.
    retention_days: int = Field(default=1095, ge=1, description="days after closure to erase")
    retention_sweep_s: float = Field(
        default=3600.0, gt=0, description="seconds between retention sweeps"
    )
    # Demo mode only: the counselling list and the term's education events (tests that do not
    # need them skip them).
    demo_programme: bool = Field(
        default=True, description="seed the demo counselling list and education events"
    )
    demo_cases: bool = Field(default=True, description="seed six demo concern reports")
    # A counselling session still unrecorded this long after its time alerts its counsellor.
    counselling_grace_h: float = Field(
        default=24.0, gt=0, description="hours after a session's time before it is overdue"
    )
    counselling_sweep_s: float = Field(
        default=300.0, gt=0, description="seconds between overdue-session sweeps"
    )

    def guarded_values(self) -> dict[str, str]:
        return {**super().guarded_values(), "pii_key": self.pii_key.get_secret_value()}
