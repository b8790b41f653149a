"""Every JetStream stream and durable consumer, and who may publish what, declared once.

The code (`Bus.ensure_streams`), the deployment manifests and the NATS permissions
(`shared/nats_auth.py`) all read these definitions.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig


@dataclass(frozen=True)
class StreamSpec:
    name: str
    subjects: tuple[str, ...]
    max_age_days: int = 30
    # Window in which a repeated Nats-Msg-Id is dropped; covers publisher retries and
    # an outbox relay replaying after a crash.
    duplicate_window_s: int = 600
    # Append-only streams: nobody, not even an admin of the account, deletes or purges messages.
    deny_delete: bool = False
    deny_purge: bool = False
    # Holds JetStream message schedules (`Nats-Schedule: @at …`), which the server publishes
    # when due. Only TIMERS, for schedules armed before timers moved into the stores.
    schedules: bool = False


@dataclass(frozen=True)
class ConsumerSpec:
    stream: str
    durable: str
    filter_subject: str
    # A message a crashed process held comes back after this long. Short, because the bus
    # tells the server "still working" every third of it while a handler runs.
    ack_wait_s: float = 6.0
    max_ack_pending: int = 1000
    # Further subjects, filtered by the server (NATS >= 2.10): the consumer is sent only these.
    more_subjects: tuple[str, ...] = ()
    # How long after an event arrives the consumer waits for more before handling them in one
    # transaction. 0 for work someone waits on (a report becoming tasks); for work nobody
    # waits on in milliseconds, a batch's fixed cost (pulls, a commit and its fsync) is shared
    # by every report the window gathers instead of paid per report (docs/performance.md).
    gather_s: float = 0.0
    # For work someone waits on (no `gather_s`): a window only while events come faster than
    # `busy_per_s` (counted over the last quarter of a second, shared/pace.py), when sharing a
    # batch's fixed cost is worth a few milliseconds more per event.
    gather_busy_s: float = 0.0
    busy_per_s: float = 0.0

    @functools.cached_property  # asked for each message it is sent
    def subjects(self) -> tuple[str, ...]:
        """What the server sends it: its own subjects, and every carrier that may hold one of
        them (CARRIED), so that a consumer of an event never misses it inside one."""
        own = (self.filter_subject, *self.more_subjects)
        carriers = [
            carrier
            for carrier, held in CARRIED.items()
            if any(matches_any(own, subject) for subject in held) and not matches_any(own, carrier)
        ]
        return (*own, *carriers)

    @property
    def owner(self) -> str:
        """The process that consumes it: durable names start with its name."""
        return self.durable.partition("-")[0]


# The streams the year's figures are counted from keep more than a year, so the projection can
# be rebuilt from them up to early February of the next year (docs/patrol.md). Events carry
# pseudonyms, never names or ID numbers, and 400 days is less than the 1095 days after which
# school_liaison erases a closed case's child: no event outlives its child's erasure.
FIGURES_RETENTION_DAYS = 400

STREAMS: tuple[StreamSpec, ...] = (
    StreamSpec("SCHOOL", ("school.>",), max_age_days=FIGURES_RETENTION_DAYS),
    StreamSpec("CASES", ("case.>", "task.>"), max_age_days=FIGURES_RETENTION_DAYS),
    StreamSpec("PATROL", ("patrol.>",), max_age_days=FIGURES_RETENTION_DAYS),
    StreamSpec("OPS", ("ops.>",)),
    # Fired timers, timer.<what>.due.v1 (shared/timers.py: armed in the service's store). It
    # still allows JetStream schedules, and keeps them past the longest timer (a follow-up
    # interval is at most 365 days), so that those a version before armed fire after an upgrade.
    StreamSpec("TIMERS", ("timer.>",), max_age_days=400, schedules=True),
    StreamSpec("DEADLETTER", ("deadletter.>",), max_age_days=365),
    # Signed checkpoints of the audit chains; kept as long as the trail itself.
    StreamSpec("AUDIT", ("audit.>",), max_age_days=3650, deny_delete=True, deny_purge=True),
)

# Carriers (shared/carried.py): one message for several events, by subject, and the subjects
# of the events it may hold. A carried event of another subject is a forgery, dead-lettered.
CARRIED: dict[str, tuple[str, ...]] = {
    "case.intake.recorded.v1": (
        "case.opened.v1",
        "case.updated.v1",
        "case.report.linked.v1",
        "task.created.v1",
        "task.report.added.v1",
        "case.identity.flagged.v1",
    ),
}

# Gathering windows (ConsumerSpec.gather_s). The intake (a filed report becoming a case and
# its tasks) gathers nothing. Inbox entries, webhooks and a report's case link may follow
# their event by a tenth of a second; the year's figures and planned welfare checks by a
# quarter. The live stream (the gateway's) reads the streams directly and is not delayed.
INBOX_GATHER_S = 0.1
FIGURES_GATHER_S = 0.25
# The intake while busy: above 100 reports a second it waits 20 ms for more (the 201 → tasks
# target is p50 15 ms at 50 a second, where it waits for nothing); a batch of a few reports
# is one transaction and one pull instead of one each (docs/performance.md, session 16).
INTAKE_BUSY_GATHER_S = 0.02
INTAKE_BUSY_PER_S = 100.0

# Durable consumers by owning service. Durable names are stable: renaming one replays history
# unless the old one is listed in RETIRED. A process has at most one durable per stream, sent
# every subject it acts on there, so an event is fetched, committed and acknowledged once by it
# (tests/unit/notifications/test_consumers.py); its handler dispatches by type.
# case_tracking: a filed report becomes a case entry and tasks; an erased child's notes go.
CASE_TRACKING_SCHOOL = ConsumerSpec(
    "SCHOOL",
    "case_tracking-school",
    "school.report.filed.v1",
    more_subjects=("school.child.erased.v1",),
    gather_busy_s=INTAKE_BUSY_GATHER_S,
    busy_per_s=INTAKE_BUSY_PER_S,
)
# school_liaison: which case a report became part of; a closed case starts retention.
SCHOOL_LIAISON_CASES = ConsumerSpec(
    "CASES",
    "school_liaison-cases",
    "case.report.linked.v1",
    more_subjects=("case.closed.v1",),
    gather_s=INBOX_GATHER_S,
)
# A student seen at risk on the video patrol: school_liaison files the concern report.
SCHOOL_LIAISON_VIDEO_CONCERNS = ConsumerSpec(
    "PATROL", "school_liaison-video-concerns", "patrol.video.concern_raised.v1"
)
GATEWAY_ERASURES = ConsumerSpec("SCHOOL", "gateway-erasures", "school.child.erased.v1")
CASE_TRACKING_TIMERS = ConsumerSpec("TIMERS", "case_tracking-timers", "timer.*.due.v1")
# notifications: one durable per stream, sent both what becomes an inbox entry and what partner
# webhooks may carry (shared/event_views.py), both handled in one transaction: an event reaches
# notifications once. Alerts: due school work (missed counselling, overdue notices) and the desk's.
NOTIFICATIONS_SCHOOL = ConsumerSpec(
    "SCHOOL",
    "notifications-events-school",
    "school.alert.raised.v1",
    more_subjects=("school.report.filed.v1",),
    gather_s=INBOX_GATHER_S,
)
NOTIFICATIONS_CASES = ConsumerSpec(
    "CASES",
    "notifications-events-cases",
    "case.>",
    more_subjects=("task.>",),
    gather_s=INBOX_GATHER_S,
)
NOTIFICATIONS_PATROL = ConsumerSpec(
    "PATROL", "notifications-events-patrol", "patrol.alert.raised.v1", gather_s=INBOX_GATHER_S
)
NOTIFICATIONS_OPS = ConsumerSpec(
    "OPS", "notifications-events-ops", "ops.>", gather_s=INBOX_GATHER_S
)
NOTIFICATIONS = (NOTIFICATIONS_SCHOOL, NOTIFICATIONS_CASES, NOTIFICATIONS_PATROL, NOTIFICATIONS_OPS)


@dataclass(frozen=True)
class Retired:
    """A durable no longer declared, and the one that took over its subjects. The declarer
    (deploy/streams.py) starts `successor` where the slowest durable it replaces had got to and
    deletes them: what they had not acknowledged is delivered again to effects that are
    idempotent (keyed by event), nothing is skipped and nothing is replayed from the start."""

    stream: str
    durable: str
    successor: str


RETIRED: tuple[Retired, ...] = (
    # Folded into NOTIFICATIONS (session 6): ten durables; task.created, patrol alerts sent twice.
    Retired("SCHOOL", "notifications-school", "notifications-events-school"),
    Retired("SCHOOL", "notifications-webhooks-school", "notifications-events-school"),
    Retired("CASES", "notifications-tasks", "notifications-events-cases"),
    Retired("CASES", "notifications-cases", "notifications-events-cases"),
    Retired("CASES", "notifications-followups", "notifications-events-cases"),
    Retired("CASES", "notifications-webhooks-cases", "notifications-events-cases"),
    Retired("PATROL", "notifications-patrol", "notifications-events-patrol"),
    Retired("PATROL", "notifications-webhooks-patrol", "notifications-events-patrol"),
    Retired("OPS", "notifications-ops", "notifications-events-ops"),
    Retired("OPS", "notifications-webhooks-ops", "notifications-events-ops"),
    # Session 7: the other processes' second durables on a stream, folded the same way.
    Retired("SCHOOL", "case_tracking-reports", "case_tracking-school"),
    Retired("SCHOOL", "case_tracking-erasures", "case_tracking-school"),
    Retired("CASES", "school_liaison-links", "school_liaison-cases"),
    Retired("CASES", "school_liaison-closures", "school_liaison-cases"),
    Retired("CASES", "patrol-tasks", "patrol-cases"),
    Retired("CASES", "patrol-stats-cases", "patrol-cases"),
)


# patrol: one durable per stream, sent the events the year's figures count (docs/patrol.md)
# and, on CASES, task.created, which plans a welfare check and is counted in one transaction.
def _figures(stream: str, durable: str, *subjects: str) -> ConsumerSpec:
    return ConsumerSpec(
        stream, durable, subjects[0], more_subjects=subjects[1:], gather_s=FIGURES_GATHER_S
    )


PATROL_FIGURES_SCHOOL = _figures(
    "SCHOOL",
    "patrol-stats-school",
    "school.report.filed.v1",
    "school.counselling.session_recorded.v1",
    "school.counselling.session_missed.v1",
    "school.education.event_recorded.v1",
)
PATROL_CASES = _figures(
    "CASES",
    "patrol-cases",
    "task.created.v1",
    "case.opened.v1",
    "case.closed.v1",
    "case.monitored.v1",
    "case.followup.recorded.v1",
    "case.disposition.recorded.v1",
    "task.acknowledged.v1",
    "task.completed.v1",
    "task.escalated.v1",
)
PATROL_FIGURES_PATROL = _figures(
    "PATROL",
    "patrol-stats-patrol",
    "patrol.inspection.recorded.v1",
    "patrol.rectification.issued.v1",
    "patrol.rectification.reinspected.v1",
    "patrol.alert.raised.v1",
    "patrol.venue.inspected.v1",
    "patrol.venue.letter_signed.v1",
    "patrol.video.checked.v1",
)
PATROL_CONSUMERS = (PATROL_FIGURES_SCHOOL, PATROL_CASES, PATROL_FIGURES_PATROL)

CONSUMERS: tuple[ConsumerSpec, ...] = (
    CASE_TRACKING_SCHOOL,
    CASE_TRACKING_TIMERS,
    SCHOOL_LIAISON_CASES,
    SCHOOL_LIAISON_VIDEO_CONCERNS,
    GATEWAY_ERASURES,
    *NOTIFICATIONS,
    *PATROL_CONSUMERS,
)


PROCESSES = ("school_liaison", "case_tracking", "patrol", "notifications", "gateway")

# Who may publish on a subject; the first matching pattern decides. The NATS server enforces it
# per identity, and consumers check an envelope's `source` against it again (defence in depth).
PUBLISHERS: tuple[tuple[str, frozenset[str]], ...] = (
    ("school.>", frozenset({"school_liaison"})),
    ("case.>", frozenset({"case_tracking"})),
    ("task.>", frozenset({"case_tracking"})),
    # Fired timers only: nobody publishes schedules (shared/timers.py).
    ("timer.*.due.v1", frozenset({"case_tracking"})),
    ("patrol.>", frozenset({"patrol"})),
    # Whichever process dead-lettered raises the alert, under its own name.
    ("ops.dead_lettered.v1", frozenset(PROCESSES)),
    ("ops.>", frozenset({"gateway"})),
    ("audit.>", frozenset({"gateway"})),
)


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS wildcards: `*` is one token, a final `>` one or more."""
    want, got = pattern.split("."), subject.split(".")
    for i, part in enumerate(want):
        if part == ">":
            return len(got) > i
        if i >= len(got) or part not in ("*", got[i]):
            return False
    return len(want) == len(got)


@functools.lru_cache(maxsize=4096)  # every carried event asks; patterns and subjects are few
def matches_any(patterns: tuple[str, ...], subject: str) -> bool:
    return any(subject_matches(pattern, subject) for pattern in patterns)


@functools.lru_cache(maxsize=4096)  # every delivery asks; the subjects are few
def publishers_of(subject: str) -> frozenset[str]:
    for pattern, who in PUBLISHERS:
        if subject_matches(pattern, subject):
            return who
    return frozenset()


def stream_config(spec: StreamSpec, *, replicas: int) -> StreamConfig:
    return StreamConfig(
        name=spec.name,
        subjects=list(spec.subjects),
        storage=StorageType.FILE,
        num_replicas=replicas,
        max_age=spec.max_age_days * 86400.0,
        duplicate_window=float(spec.duplicate_window_s),
        deny_delete=spec.deny_delete,
        deny_purge=spec.deny_purge,
        allow_msg_schedules=spec.schedules or None,  # absent, not false, on other streams
    )


def consumer_config(spec: ConsumerSpec) -> ConsumerConfig:
    return ConsumerConfig(
        durable_name=spec.durable,
        filter_subject=None if len(spec.subjects) > 1 else spec.filter_subject,
        filter_subjects=list(spec.subjects) if len(spec.subjects) > 1 else None,
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL,
        ack_wait=spec.ack_wait_s,
        max_ack_pending=spec.max_ack_pending,
        max_deliver=-1,  # the bus counts deliveries itself and dead-letters at max_deliver
    )
