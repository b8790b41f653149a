"""patrol's contracts: welfare-check visits raised by urgent police tasks."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class WelfareCheckView(BaseModel):
    id: str
    task_id: str
    case_id: str
    school_id: str
    officer_id: str | None
    due_at: datetime
    status: str
    created_at: datetime
