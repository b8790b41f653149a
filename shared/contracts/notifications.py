"""notifications' contracts: inbox addresses, and inbox entries as the public API shows them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

# An inbox address is `<kind>:<id>`: one person, one organisation's shared inbox, or a role's
# desk (everyone with the role reads it). Senders and readers build addresses only here.


def user_inbox(user_id: str) -> str:
    return f"user:{user_id}"


def org_inbox(org_id: str) -> str:
    return f"org:{org_id}"


def role_inbox(role: str) -> str:
    return f"role:{role}"


def school_inbox(school_id: str) -> str:
    """A school's staff (its safety lead among them): rectification notices and their alerts."""
    return f"school:{school_id}"


def inboxes_of(
    *, user_id: str, role: str, org_id: str | None, school_id: str | None = None
) -> list[str]:
    """The inboxes one reader reads: personal, their role's desk, their organisation's, and
    their school's (school staff)."""
    keys = [user_inbox(user_id), role_inbox(role)]
    if org_id:
        keys.append(org_inbox(org_id))
    if school_id:
        keys.append(school_inbox(school_id))
    return keys


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
