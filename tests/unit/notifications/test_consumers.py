"""An event reaches a process once: one durable per stream and process, whose filter covers all
it does with the stream's events (for notifications both the subjects that make inbox entries
and those partner webhooks may carry; shared/streams.py)."""

from __future__ import annotations

from collections import Counter

from services.notifications import task_notices
from shared import event_views as views
from shared.asyncapi import contracts, stream_of
from shared.contracts.alerts import PatrolAlertRaised, SchoolAlertRaised
from shared.contracts.cases import (
    CaseIdentityFlagged,
    FollowUpOverdue,
    TaskAcknowledged,
    TaskCreated,
)
from shared.contracts.ops import DeadLettered, PrivilegedGrantMade
from shared.events import EventData
from shared.streams import CONSUMERS, NOTIFICATIONS, RETIRED, subject_matches

INBOX: list[type[EventData]] = [
    TaskCreated,
    TaskAcknowledged,
    *task_notices.TYPES.values(),
    CaseIdentityFlagged,
    FollowUpOverdue,
    DeadLettered,
    PrivilegedGrantMade,
    SchoolAlertRaised,
    PatrolAlertRaised,
]


def consumers_of(model: type[EventData], *, process: str) -> list[str]:
    """The durables of `process` the server sends this event to."""
    subject = model.nats_subject()
    return [
        c.durable
        for c in CONSUMERS
        if c.owner == process
        and c.stream == stream_of(subject)
        and any(subject_matches(f, subject) for f in c.subjects)
    ]


def notifications_consumers_of(model: type[EventData]) -> list[str]:
    return consumers_of(model, process="notifications")


def test_a_created_task_is_sent_to_notifications_once() -> None:
    assert notifications_consumers_of(TaskCreated) == ["notifications-events-cases"]
    assert notifications_consumers_of(PatrolAlertRaised) == ["notifications-events-patrol"]


def test_no_event_is_sent_to_any_process_twice() -> None:
    """Each delivery costs a fetch, a commit and an ack: a process does all it does with an
    event through one durable (docs/design.md)."""
    processes = {c.owner for c in CONSUMERS}
    assert "notifications" in processes
    twice = {
        (process, m.TYPE): durables
        for process in processes
        for m in contracts()
        if len(durables := consumers_of(m, process=process)) > 1
    }
    assert twice == {}


def test_no_process_has_two_durables_on_one_stream() -> None:
    """Two would fetch, commit and acknowledge one report's events in two cycles (patrol's
    case.opened and task.created did, before session 7): a process's effects of a stream's
    events share one durable, dispatched by type in one transaction per batch. The gateway's
    live event stream is an ephemeral consumer per client, not a durable, and is not counted."""
    per_stream = Counter((c.owner, c.stream) for c in CONSUMERS)
    assert {key: n for key, n in per_stream.items() if n > 1} == {}


def test_every_event_notifications_acts_on_is_sent_to_it() -> None:
    for model in [*INBOX, *views.CONTRACTS.values()]:
        assert len(notifications_consumers_of(model)) == 1, model.TYPE
    assert len(NOTIFICATIONS) == len({c.stream for c in NOTIFICATIONS})  # one per stream


def test_a_retired_durable_is_no_longer_declared_and_names_a_declared_successor() -> None:
    declared = {(c.stream, c.durable) for c in CONSUMERS}
    for old in RETIRED:
        assert (old.stream, old.durable) not in declared
        assert (old.stream, old.successor) in declared
