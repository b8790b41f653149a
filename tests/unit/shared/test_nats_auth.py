"""Who may publish what, and the NATS permissions derived from it."""

from __future__ import annotations

import pytest

from shared.nats_auth import ADMIN, REPLAYER, accounts_block, identities, identity
from shared.streams import CONSUMERS, PROCESSES, publishers_of, subject_matches


@pytest.mark.parametrize(
    ("pattern", "subject", "expected"),
    [
        ("school.>", "school.report.filed.v1", True),
        ("school.>", "school", False),
        ("school.*", "school.report", True),
        ("school.*", "school.report.filed", False),
        ("ops.dead_lettered.v1", "ops.dead_lettered.v1", True),
        ("ops.dead_lettered.v1", "ops.dead_lettered.v2", False),
        ("case.>", "cases.closed.v1", False),
    ],
)
def test_subject_wildcards(pattern: str, subject: str, expected: bool) -> None:
    assert subject_matches(pattern, subject) is expected


def test_each_subject_has_its_one_owner_and_alerts_come_from_anyone() -> None:
    assert publishers_of("school.report.filed.v1") == {"school_liaison"}
    assert publishers_of("case.report.linked.v1") == {"case_tracking"}
    assert publishers_of("task.created.v1") == {"case_tracking"}
    assert publishers_of("ops.dead_letter.replayed.v1") == {"gateway"}
    assert publishers_of("ops.dead_lettered.v1") == set(PROCESSES)
    assert publishers_of("deadletter.x") == set()  # a dead letter is never consumed as an event


def test_no_process_may_manage_streams_and_each_pulls_only_its_own_durables() -> None:
    for user in PROCESSES:
        allowed = identity(user).publish
        assert not [s for s in allowed if s.startswith("$JS.API") and (">" in s or "*" in s)]
        # Stream calls only read (the dead-letter gauge and list, the audit checkpoints).
        stream_calls = [s for s in allowed if s.startswith("$JS.API.STREAM.")]
        assert all(s.split(".")[3] in ("INFO", "MSG") for s in stream_calls), stream_calls
        assert not [s for s in stream_calls if s.startswith("$JS.API.STREAM.MSG.DELETE")]
        pulls = {s.rsplit(".", 1)[1] for s in allowed if s.startswith("$JS.API.CONSUMER.MSG.NEXT")}
        assert pulls == {c.durable for c in CONSUMERS if c.owner == user}
        assert identity(user).subscribe == (f"_INBOX_{user}.>",)
    assert identity(ADMIN).publish == (">",)
    assert "$JS.API.STREAM.MSG.DELETE.DEADLETTER" in identity(REPLAYER).publish


def test_the_accounts_block_reads_passwords_from_env_or_writes_them() -> None:
    env = accounts_block()
    assert "password: $NATS_PASSWORD_GATEWAY" in env
    literal = accounts_block({i.user: f"pw-{i.user}" for i in identities()})
    assert 'password: "pw-gateway"' in literal
    assert "$NATS_PASSWORD" not in literal
