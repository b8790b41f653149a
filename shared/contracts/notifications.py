"""notifications' contracts: inbox entries as the public API shows them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class NotificationView(BaseModel):
    id: str
    recipient: str
    kind: str
    title: str
    case_id: str | None
    task_id: str | None
    due_at: datetime | None
    created_at: datetime
    read_at: datetime | None = None
