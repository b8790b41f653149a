"""Which events the feed carries, with which fields: shared/event_views.py, one
implementation for the feed and for partner webhooks (services/notifications)."""

from __future__ import annotations

from shared.event_views import (
    CONTRACTS,
    DESK_ADDRESSED,
    DESK_INBOX,
    EXCLUDED,
    FIELDS,
    STATION_ONLY,
    addressed,
)

__all__ = [
    "CONTRACTS",
    "DESK_ADDRESSED",
    "DESK_INBOX",
    "EXCLUDED",
    "FIELDS",
    "STATION_ONLY",
    "addressed",
]
