"""Reading the year's figures from the projection, and rebuilding it from the streams."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from functools import partial

from services.patrol.figures import domain, projection
from shared.carried import unpacked
from shared.contracts.figures import NoticeFigures, TaskFigures, YearFigures
from shared.events import Envelope
from shared.identity import SCHOOL_STAFF, Principal, Role
from shared.store import Reader, Store, Writer
from shared.store.retry import transact
from shared.usecases import NotAllowed

STATION_READERS = (Role.dispatcher, Role.supervisor, Role.auditor)


def scope_of(caller: Principal) -> str:
    if caller.role in STATION_READERS:
        return projection.STATION
    if caller.role in SCHOOL_STAFF and caller.school_id:
        return caller.school_id
    raise NotAllowed("the desk, the supervisor, the auditor, or a school's own staff")


async def figures(port: Reader, *, caller: Principal, year: int, schools: int) -> YearFigures:
    """`schools`: how many schools the video patrol watches (a complete day checks them all)."""
    scope = scope_of(caller)
    where = {"year": year, "scope": scope}
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for doc in await port.find(projection.TALLIES_C, where=where):
        for figure, keys in doc["counts"].items():
            counts[figure].update({key: int(n) for key, n in keys.items()})
    samples: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for doc in await port.find(projection.SAMPLES_C, where=where):
        samples[doc["figure"]][doc["key"]].append(float(doc["value"]))
    created, acked, done = (
        counts["tasks.created"],
        counts["tasks.acknowledged"],
        counts["tasks.completed"],
    )
    ack_s, done_s = samples["tasks.ack_s"], samples["tasks.done_s"]
    tasks = {
        kind: TaskFigures(
            created=created.get(kind, 0),
            acknowledged=acked.get(kind, 0),
            ack_median_s=domain.percentile(ack_s[kind], 50),
            ack_p90_s=domain.percentile(ack_s[kind], 90),
            completed=done.get(kind, 0),
            done_median_s=domain.percentile(done_s[kind], 50),
            done_p90_s=domain.percentile(done_s[kind], 90),
        )
        for kind in sorted({*created, *acked, *done})
    }
    days = counts["video.day"]
    status = counts["cases.status"]
    sessions, education = counts["counselling.sessions"], counts["education.totals"]
    return YearFigures(
        year=year,
        scope="station" if scope == projection.STATION else scope,
        schools_watched=schools,
        reports_by_category=counts["reports.category"],
        reports_by_severity=counts["reports.severity"],
        reports_by_school=counts["reports.school"],
        cases_opened=status.get("opened", 0),
        cases_closed=status.get("closed", 0),
        cases_under_monitoring=len(counts["cases.monitored"]),
        tasks_by_kind=tasks,
        escalations=counts["escalations.level"],
        dispositions_by_kind=counts["dispositions.kind"],
        counselling_held=sessions.get("held", 0),
        counselling_missed=sessions.get("missed", 0),
        education_events=education.get("events", 0),
        education_audience=education.get("audience", 0),
        school_inspections=NoticeFigures.model_validate(counts["inspections.schools"]),
        venue_inspections=NoticeFigures.model_validate(counts["inspections.venues"]),
        venues_with_letters=len(counts["venues.letters"]),
        video_days_logged=len(days),
        video_days_complete=sum(n >= schools for n in days.values()),
    )


def as_csv(figures: YearFigures) -> str:
    rows = ["figure,value"]
    data = figures.model_dump(mode="json")
    rows += [f"{name},{value}" for name, value in domain.csv_rows(data)]
    return "\n".join(rows) + "\n"


async def _wipe(tx: Writer, *, collection: str, ids: list[str]) -> None:
    for doc_id in ids:
        await tx.delete(collection, doc_id)


async def _count(tx: Writer, *, events: list[Envelope]) -> int:
    return await projection.apply_many(tx, events)


async def rebuild(port: Store, envelopes: Iterable[Envelope], *, batch: int = 200) -> int:
    """Forget every figure, then count `envelopes` (the streams, oldest first, carriers
    unpacked here) again; the number of events counted."""
    for collection in projection.COLLECTIONS:
        ids = [d["id"] for d in await port.find(collection)]
        for start in range(0, len(ids), batch):
            chunk = ids[start : start + batch]
            await transact(port, partial(_wipe, collection=collection, ids=chunk))
    events = [event for envelope in envelopes for event in unpacked(envelope)]
    counted = 0
    for start in range(0, len(events), batch):
        counted += await transact(port, partial(_count, events=events[start : start + batch]))
    return counted
