"""Every JetStream stream and durable consumer, declared once.

The code (`Bus.ensure_streams`) and the deployment manifests both read these definitions.
"""

from __future__ import annotations

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


@dataclass(frozen=True)
class ConsumerSpec:
    stream: str
    durable: str
    filter_subject: str
    # A message a crashed process held comes back after this long. Short, because the bus
    # tells the server "still working" every third of it while a handler runs.
    ack_wait_s: float = 6.0
    max_ack_pending: int = 1000


STREAMS: tuple[StreamSpec, ...] = (
    StreamSpec("SCHOOL", ("school.>",)),
    StreamSpec("CASES", ("case.>", "task.>")),
    StreamSpec("PATROL", ("patrol.>",)),
    StreamSpec("NOTIFY", ("notification.>",)),
    StreamSpec("OPS", ("ops.>",)),
    StreamSpec("DEADLETTER", ("deadletter.>",), max_age_days=365),
    # Signed checkpoints of the audit chains; kept as long as the trail itself.
    StreamSpec("AUDIT", ("audit.>",), max_age_days=3650, deny_delete=True, deny_purge=True),
)

# Durable consumers by owning service. Durable names are stable: renaming one replays history.
CASE_TRACKING_REPORTS = ConsumerSpec("SCHOOL", "case_tracking-reports", "school.report.filed.v1")
SCHOOL_LIAISON_LINKS = ConsumerSpec("CASES", "school_liaison-links", "case.report.linked.v1")
SCHOOL_LIAISON_CLOSURES = ConsumerSpec("CASES", "school_liaison-closures", "case.closed.v1")
GATEWAY_ERASURES = ConsumerSpec("SCHOOL", "gateway-erasures", "school.child.erased.v1")
NOTIFICATIONS_TASKS = ConsumerSpec("CASES", "notifications-tasks", "task.>")
PATROL_TASKS = ConsumerSpec("CASES", "patrol-tasks", "task.created.v1")
NOTIFICATIONS_OPS = ConsumerSpec("OPS", "notifications-ops", "ops.>")

CONSUMERS: tuple[ConsumerSpec, ...] = (
    CASE_TRACKING_REPORTS,
    SCHOOL_LIAISON_LINKS,
    SCHOOL_LIAISON_CLOSURES,
    GATEWAY_ERASURES,
    NOTIFICATIONS_TASKS,
    PATROL_TASKS,
    NOTIFICATIONS_OPS,
)


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
    )


def consumer_config(spec: ConsumerSpec) -> ConsumerConfig:
    return ConsumerConfig(
        durable_name=spec.durable,
        filter_subject=spec.filter_subject,
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL,
        ack_wait=spec.ack_wait_s,
        max_ack_pending=spec.max_ack_pending,
        max_deliver=-1,  # the bus counts deliveries itself and dead-letters at max_deliver
    )
