from __future__ import annotations

from datetime import timedelta

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from services.case_tracking.deadlines import ACK_WINDOW, Deadlines
from shared.contracts.school import Severity
from shared.settings import DEMO_PII_KEY, ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="HULEI_CASE_TRACKING_", extra="ignore")

    port: int = 8102
    store_url: str = "sqlite:///var/case_tracking.db"
    # base64 of 32 bytes: wraps each case's data key, which seals its outcome notes (notes.py)
    notes_key: SecretStr = SecretStr(DEMO_PII_KEY)
    ack_minutes: dict[Severity, float] = Field(
        default={s: w.total_seconds() / 60 for s, w in ACK_WINDOW.items()},
        description="minutes to acknowledge a task, by risk, before the desk is told",
    )
    supervisor_factor: float = Field(
        default=2.0, gt=1, description="the supervisor is told after this many ack windows"
    )
    deadline_scale: float = Field(
        default=1.0, gt=0, le=1, description="multiplies every task deadline (tests: 0.001)"
    )
    demo_casework: bool = Field(
        default=True, description="demo mode: put six demo cases under monitoring (demo.py)"
    )

    def deadlines(self) -> Deadlines:
        """The configured deadlines; a risk level not configured keeps its default window."""
        ack = {s: timedelta(minutes=self.ack_minutes.get(s, w.total_seconds() / 60))
               for s, w in ACK_WINDOW.items()}  # fmt: skip
        scale = self.deadline_scale
        return Deadlines(ack=ack, supervisor_factor=self.supervisor_factor, scale=scale)

    def guarded_values(self) -> dict[str, str]:
        return {**super().guarded_values(), "notes_key": self.notes_key.get_secret_value()}
