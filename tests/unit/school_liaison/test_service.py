"""school_liaison's use cases on a real SQLite store: what filing, reading, a link and a
closure leave stored and announce; the idempotency and key races; no child details in events."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from services.school_liaison import retention, service, store, vault
from services.school_liaison.domain import Disclosure
from services.school_liaison.models import PendingErasure
from services.school_liaison.privacy import Sealer
from shared.contracts.cases import CaseClosed, ReportLinked
from shared.contracts.school import ChildErased, ReportCreate, ReportFiled
from shared.identity import Principal, Role
from shared.runtime import Work
from shared.store import Store
from shared.usecases import Conflict, InvalidField, NotAllowed, NotFound
from tests.unit.school_liaison.factories import a_report
from tests.unit.units import Recording, StoreUnits, sqlite_port, sqlite_work, unit_of_work

SEALER = Sealer(base64.b64encode(bytes(range(32))).decode())
TEACHER = Principal(user_id="teacher1", role=Role.teacher, school_id="sch-01")
OTHER_TEACHER = Principal(user_id="teacher2", role=Role.teacher, school_id="sch-02")
SOCIAL = Principal(user_id="social1", role=Role.social_worker, org_id="org-rainbow")
DESK = Principal(user_id="dispatcher1", role=Role.dispatcher)
AUDITOR = Principal(user_id="auditor1", role=Role.auditor)
STUDENT = {"name": "Wang Xiaohong", "id_number": "140502201105057786", "grade": "Grade 7"}
BODY = ReportCreate.model_validate(
    {
        "school_id": "sch-01",
        "category": "truancy",
        "description": "Missed nine days this month",
        "student": STUDENT,
    }
)
SECRETS = [*STUDENT.values(), BODY.description, "Xiaohong"]


@pytest.fixture
async def port(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await sqlite_port(tmp_path, component="school_liaison", migrations=store.MIGRATIONS)
    await store.seed_demo_schools(opened)
    yield opened
    await opened.close()


async def _file(
    rt: StoreUnits,
    *,
    body: ReportCreate = BODY,
    key: str | None = None,
    caller: Principal = TEACHER,
) -> service.ReportAnswer:
    return await service.file_report(
        rt, sealer=SEALER, caller=caller, body=body, idempotency_key=key
    )


def _student(**change: Any) -> ReportCreate:
    return BODY.model_copy(update={"student": BODY.student.model_copy(update=change)})


# --- filing --------------------------------------------------------------------------------------


async def test_a_filed_report_is_stored_sealed_and_announced_without_the_childs_details(
    port: Store,
) -> None:
    rt = StoreUnits(port)
    answer = await _file(rt)
    report = answer.report
    assert answer.disclosure is Disclosure.full
    assert not answer.replayed
    student = BODY.student.model_dump(mode="json")
    assert answer.private == {"description": BODY.description, "student": student}
    stored = await store.get_report(port, report_id=report.id)
    assert stored == report
    assert stored.sealed is not None
    assert stored.case_id is None
    assert await store.get_child_key(port, child_ref=report.child_ref) is not None
    assert await vault.open_report(port, SEALER, stored) == answer.private

    [event] = rt.events
    filed = event.parse(ReportFiled)
    assert filed.report_id == report.id
    assert filed.child_ref == report.child_ref
    assert filed.community_officer_id == "officer1"
    assert filed.social_org_id == "org-rainbow"
    assert filed.identity_mismatch is False
    wire = event.model_dump_json()
    for secret in SECRETS:
        assert str(secret) not in wire, secret


@pytest.mark.parametrize(
    ("body", "caller", "error"),
    [
        (BODY.model_copy(update={"school_id": "sch-99"}), TEACHER, InvalidField),
        (BODY, OTHER_TEACHER, NotAllowed),
        (BODY, SOCIAL, NotAllowed),
    ],
    ids=["unknown-school", "another-schools-teacher", "social-worker"],
)
async def test_a_refused_report_leaves_nothing_behind(
    port: Store, body: ReportCreate, caller: Principal, error: type[Exception]
) -> None:
    rt = StoreUnits(port)
    with pytest.raises(error):
        await _file(rt, body=body, caller=caller, key="k-1")
    assert rt.events == []
    assert await port.count(store.REPORTS_C) == 0
    assert await port.count(store.IDEMPOTENCY_C) == 0


async def test_the_same_key_and_body_answers_with_the_first_report(port: Store) -> None:
    rt = StoreUnits(port)
    first = await _file(rt, key="k-1")
    again = await _file(rt, key="k-1")
    assert again.replayed
    assert again.report == first.report
    assert again.private == first.private
    assert len(rt.events) == 1
    assert await port.count(store.REPORTS_C) == 1


async def test_the_same_key_with_another_body_is_refused(port: Store) -> None:
    rt = StoreUnits(port)
    await _file(rt, key="k-1")
    with pytest.raises(Conflict):
        await _file(rt, key="k-1", body=BODY.model_copy(update={"description": "other"}))
    assert len(rt.events) == 1
    assert await port.count(store.REPORTS_C) == 1


class RivalFirst(StoreUnits):
    """A concurrent request commits between this request's replay check and its transaction:
    the check saw no record, the insert of the idempotency record then meets the rival's."""

    def __init__(self, port: Store, rival: Callable[[], Awaitable[object]]) -> None:
        super().__init__(port)
        self._rival: Callable[[], Awaitable[object]] | None = rival

    async def transact(self, work: Work[Any]) -> Any:
        if self._rival is not None:
            rival, self._rival = self._rival, None
            await rival()
        return await super().transact(work)


async def test_losing_the_race_for_a_key_answers_with_the_winners_report(port: Store) -> None:
    winner = StoreUnits(port)
    won: list[service.ReportAnswer] = []

    async def rival() -> None:
        won.append(await _file(winner, key="k-1"))

    loser = RivalFirst(port, rival)
    answer = await _file(loser, key="k-1")
    assert answer.replayed
    assert answer.report == won[0].report
    assert loser.events == []
    assert len(winner.events) == 1
    assert await port.count(store.REPORTS_C) == 1


async def test_losing_the_race_for_a_key_to_another_body_is_refused(port: Store) -> None:
    other = BODY.model_copy(update={"description": "other"})

    async def rival() -> None:
        await _file(StoreUnits(port), key="k-1", body=other)

    with pytest.raises(Conflict):
        await _file(RivalFirst(port, rival), key="k-1")
    assert await port.count(store.REPORTS_C) == 1


class KeyRaces(StoreUnits):
    """The first `races` units lose the race for the child's new key to a rival whose key
    they cannot see yet (as vault.data_key_for reports it)."""

    def __init__(self, port: Store, races: int) -> None:
        super().__init__(port)
        self.races = races
        self.attempts = 0

    async def transact(self, work: Work[Any]) -> Any:
        self.attempts += 1
        if self.attempts <= self.races:
            raise vault.ChildKeyRace("child")
        return await super().transact(work)


async def test_a_lost_race_for_the_childs_key_runs_the_unit_again(port: Store) -> None:
    rt = KeyRaces(port, races=service.KEY_RACE_ATTEMPTS - 1)
    answer = await _file(rt)
    assert rt.attempts == service.KEY_RACE_ATTEMPTS
    assert await store.get_report(port, report_id=answer.report.id) is not None


async def test_key_races_without_end_give_up_after_the_bound(port: Store) -> None:
    rt = KeyRaces(port, races=service.KEY_RACE_ATTEMPTS)
    with pytest.raises(vault.ChildKeyRace):
        await _file(rt)
    assert rt.attempts == service.KEY_RACE_ATTEMPTS


async def test_another_name_for_a_known_id_number_is_flagged_not_told(port: Store) -> None:
    rt = StoreUnits(port)
    first = await _file(rt)
    second = await _file(rt, body=_student(name="Li Na"))
    assert second.report.child_ref == first.report.child_ref
    assert second.report.identity_mismatch
    assert not first.report.identity_mismatch
    assert [e.parse(ReportFiled).identity_mismatch for e in rt.events] == [False, True]
    assert "Li Na" not in rt.events[1].model_dump_json()


async def test_filing_costs_the_same_however_many_reports_the_child_has(port: Store) -> None:
    """The comparison with the child's earlier reports reads one row, not the reports: a
    filing's transaction does the same work for a child's third report and its thirtieth."""
    rt = StoreUnits(port)
    await _file(rt)
    await _file(rt)
    steps = sqlite_work(port)
    await _file(rt)
    third = steps[0]
    for _ in range(26):
        await _file(rt)
    steps[0] = 0
    answer = await _file(rt, body=_student(name="Li Na"))
    assert steps[0] <= third * 1.1, (third, steps[0])
    assert answer.report.identity_mismatch  # and still compared with the first report's name


async def test_the_key_row_is_written_only_when_the_identity_changes(port: Store) -> None:
    """A new child's key row is inserted with its identity (one write); a report that teaches
    nothing new writes none; a first date of birth, one."""
    now = datetime(2024, 2, 1, tzinfo=UTC)

    async def writes(report_id: str, student: dict[str, Any]) -> int:
        report = a_report(child_ref="child-1", filed_at=now, id=report_id)
        async with port.transaction() as tx:
            recording = Recording(tx)
            private = {"description": "d", "student": student}
            await vault.seal_report(recording, SEALER, report=report, private=private, now=now)
        return sum(n for (c, _), n in recording.writes.items() if c == "child_keys")

    assert await writes("rep-1", {"name": "Li Na"}) == 1
    assert await writes("rep-2", {"name": "Li Na"}) == 0
    assert await writes("rep-3", {"name": "Li Na", "date_of_birth": "2011-05-05"}) == 1
    assert await writes("rep-4", {"name": "Li Na", "date_of_birth": "2011-05-05"}) == 0


async def test_the_childs_identity_is_kept_sealed_with_its_key(port: Store) -> None:
    rt = StoreUnits(port)
    first = await _file(rt, body=_student(date_of_birth=None))
    row = await port.get("child_keys", first.report.child_ref)
    assert row is not None
    assert row["identity"]
    assert not any(secret in row["identity"] for secret in SECRETS)
    # A date of birth first given later is learnt; a later different one is flagged.
    await _file(rt, body=_student(date_of_birth=date(2011, 5, 5)))
    flagged = await _file(rt, body=_student(date_of_birth=date(2011, 5, 6)))
    assert flagged.report.identity_mismatch
    # Erasing the key erases the identity with it: the child's next report starts afresh.
    await port.delete("child_keys", first.report.child_ref)
    assert not (await _file(rt, body=_student(name="Li Na"))).report.identity_mismatch


async def test_a_key_row_from_before_learns_the_identity_from_the_childs_reports(
    port: Store,
) -> None:
    rt = StoreUnits(port)
    first = await _file(rt)
    row = await port.get("child_keys", first.report.child_ref)
    assert row is not None
    await port.put("child_keys", {k: v for k, v in row.items() if k != "identity"})
    assert (await _file(rt, body=_student(name="Li Na"))).report.identity_mismatch
    kept = await port.get("child_keys", first.report.child_ref)
    assert kept is not None
    assert kept["identity"]
    assert not (await _file(rt)).report.identity_mismatch


async def test_a_new_report_cancels_the_childs_pending_erasure(port: Store) -> None:
    child_ref = SEALER.child_ref(BODY.student, school_id=BODY.school_id)
    closed = datetime(2024, 2, 1, tzinfo=UTC)
    async with unit_of_work(port) as uow:
        pending = PendingErasure(child_ref=child_ref, closed_at=closed, closed_case_ids=["c-1"])
        await store.put_pending_erasure(uow.tx, pending=pending)
    await _file(StoreUnits(port))
    after = await store.get_pending_erasure(port, child_ref=child_ref)
    assert after == PendingErasure(child_ref=child_ref, closed_at=None, closed_case_ids=["c-1"])


# --- reading -------------------------------------------------------------------------------------


async def test_a_report_opens_for_whom_it_shows_something_and_not_for_others(
    port: Store,
) -> None:
    report_id = (await _file(StoreUnits(port))).report.id

    async def read(caller: Principal) -> service.ReportAnswer:
        return await service.read_report(port, sealer=SEALER, caller=caller, report_id=report_id)

    assert (await read(SOCIAL)).private is not None
    desk = await read(DESK)
    assert desk.disclosure is Disclosure.minimal
    assert desk.private is None
    for nobody in (OTHER_TEACHER, AUDITOR):
        with pytest.raises(NotFound):
            await read(nobody)
    with pytest.raises(NotFound):
        await service.read_report(port, sealer=SEALER, caller=TEACHER, report_id="rep-nope")


async def test_schools_listed_are_the_callers_own(port: Store) -> None:
    mine, _ = await service.list_schools(port, caller=TEACHER, limit=100)
    assert [s.id for s in mine] == ["sch-01"]
    served, _ = await service.list_schools(port, caller=SOCIAL, limit=100)
    assert {s.social_org_id for s in served} == {"org-rainbow"}
    assert len(served) == 7
    everything, cursor = await service.list_schools(port, caller=AUDITOR, limit=100)
    assert (len(everything), cursor) == (21, None)


@pytest.mark.parametrize("limit", [1, 3, 7])
async def test_schools_page_by_cursor_through_the_callers_own(port: Store, limit: int) -> None:
    """The caller's schools are filtered after the store's page: a page is still full."""
    whole, _ = await service.list_schools(port, caller=SOCIAL, limit=100)
    pages, cursor = [], None
    while True:
        page, cursor = await service.list_schools(port, caller=SOCIAL, limit=limit, after=cursor)
        pages.append([s.id for s in page])
        if cursor is None:
            break
    assert [i for p in pages for i in p] == [s.id for s in whole]
    assert all(len(p) == limit for p in pages[:-1])
    assert 1 <= len(pages[-1]) <= limit  # no empty last page


# --- events from case_tracking, and the erasure they lead to ------------------------------------


async def test_a_link_and_a_closure_lead_to_the_childs_erasure(port: Store) -> None:
    report = (await _file(StoreUnits(port), key="k-1")).report
    closed_at = datetime(2024, 2, 1, tzinfo=UTC)
    async with unit_of_work(port) as uow:
        await service.link_report(uow, linked=ReportLinked(report_id=report.id, case_id="c-1"))
        await service.link_report(uow, linked=ReportLinked(report_id="rep-gone", case_id="c-1"))
        closed = CaseClosed(case_id="c-1", child_ref=report.child_ref, closed_at=closed_at)
        pending = await service.start_retention(uow, closed=closed)
    assert uow.events == []
    linked = await store.get_report(port, report_id=report.id)
    assert linked is not None
    assert linked.case_id == "c-1"
    assert await store.get_pending_erasure(port, child_ref=report.child_ref) == pending
    assert pending.closed_at == closed_at
    assert pending.closed_case_ids == ["c-1"]

    period = timedelta(days=30)
    async with unit_of_work(port) as uow:
        early = closed_at + period
        assert not await retention.erase_child(
            uow, child_ref=report.child_ref, retention=period, now=early
        )
    assert uow.events == []
    now = closed_at + period * 2
    async with unit_of_work(port) as uow:
        assert await retention.erase_child(
            uow, child_ref=report.child_ref, retention=period, now=now
        )
    [event] = uow.events
    assert event.parse(ChildErased) == ChildErased(
        child_ref=report.child_ref, reports_erased=1, erased_at=now
    )
    erased = await store.get_report(port, report_id=report.id)
    assert erased is not None
    assert erased.sealed is None
    assert erased.erased_at == now
    assert await store.get_child_key(port, child_ref=report.child_ref) is None
    assert await store.get_idempotency(port, user_id="teacher1", key="k-1") is None
