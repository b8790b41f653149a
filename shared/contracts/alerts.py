"""Alerts a service raises about work that is due (a missed session, an overdue rectification):
one contract per publishing context, the same fields, so notifications files them alike.

Recipients are inbox addresses (shared/contracts/notifications.py). Titles never name a child.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from shared.events import EventData


class AlertRaised(EventData):
    alert_id: str  # deterministic: the same due thing alerted twice is one inbox entry
    kind: str
    recipients: tuple[str, ...]
    title: str
    school_id: str
    due_at: datetime | None = None


class SchoolAlertRaised(AlertRaised):
    TYPE: ClassVar[str] = "school.alert.raised"


class PatrolAlertRaised(AlertRaised):
    TYPE: ClassVar[str] = "patrol.alert.raised"
