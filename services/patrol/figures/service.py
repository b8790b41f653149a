"""Reading the year's figures from the projection, and rebuilding it from the streams."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from functools import partial

from services.patrol.figures import domain, projection
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
    for doc in await port.find(projection.COUNTS_C, where=where):
        counts[doc["figure"]][doc["key"]] = int(doc["count"])
    samples: dict[str, list[float]] = defaultdict(list)
    for doc in await port.find(projection.SAMPLES_C, where=where):
        samples[doc["key"]].append(float(doc["value"]))
    created, acked = counts["tasks.created"], counts["tasks.acknowledged"]
    tasks = {
        kind: TaskFigures(
            created=created.get(kind, 0),
            acknowledged=acked.get(kind, 0),
            ack_median_s=domain.percentile(samples[kind], 50),
            ack_p90_s=domain.percentile(samples[kind], 90),
        )
        for kind in sorted({*created, *acked})
    }
    days = counts["video.day"]
    return YearFigures(
        year=year,
        scope="station" if scope == projection.STATION else scope,
        reports_by_category=counts["reports.category"],
        reports_by_severity=counts["reports.severity"],
        reports_by_school=counts["reports.school"],
        cases_opened=counts["cases"].get("opened", 0),
        cases_closed=counts["cases"].get("closed", 0),
        tasks_by_kind=tasks,
        counselling_held=counts["counselling"].get("held", 0),
        counselling_missed=counts["counselling"].get("missed", 0),
        education_events=counts["education"].get("events", 0),
        education_audience=counts["education"].get("audience", 0),
        school_inspections=NoticeFigures.model_validate(counts["inspections.schools"]),
        venue_inspections=NoticeFigures.model_validate(counts["inspections.venues"]),
        venues_with_letters=len(counts["venues.letters"]),
        video_days_logged=len(days),
        video_days_complete=sum(n >= schools for n in days.values()),
        pending=list(domain.PENDING),
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
    return sum([await projection.apply(tx, e) for e in events])


async def rebuild(port: Store, envelopes: Iterable[Envelope], *, batch: int = 200) -> int:
    """Forget every figure, then count `envelopes` (the streams, oldest first) again; the
    number of events counted."""
    for collection in projection.COLLECTIONS:
        ids = [d["id"] for d in await port.find(collection)]
        for start in range(0, len(ids), batch):
            chunk = ids[start : start + batch]
            await transact(port, partial(_wipe, collection=collection, ids=chunk))
    events = list(envelopes)
    counted = 0
    for start in range(0, len(events), batch):
        counted += await transact(port, partial(_count, events=events[start : start + batch]))
    return counted
