"""Inbox addresses have one format (shared/contracts/notifications.py): what notifications
sends to is what a reader's inbox keys name."""

from __future__ import annotations

import pytest

from services.notifications import domain
from shared.contracts.notifications import org_inbox, role_inbox, user_inbox
from shared.identity import Principal, Role

pytestmark = pytest.mark.unit


def test_the_desks_notifications_sends_to_are_the_roles_inboxes() -> None:
    desks = {
        domain.DUTY_DESK: Role.dispatcher,
        domain.ADMIN_DESK: Role.admin,
        domain.SUPERVISOR_DESK: Role.supervisor,
        domain.AUDITOR_DESK: Role.auditor,
    }
    for desk, role in desks.items():
        assert desk == role_inbox(role.value)
        assert desk in Principal(user_id="someone", role=role).inbox_keys


def test_a_reader_reads_his_own_and_his_organisations_inbox() -> None:
    reader = Principal(user_id="w1", role=Role.social_worker, org_id="org-1")
    assert {user_inbox("w1"), org_inbox("org-1")} <= set(reader.inbox_keys)
