"""The projection: each event of the streams adds to counters per year, for the station ("*")
and for the school it concerns. Applied once per event id (its own mark, so a live consumer and
a rebuild never count an event twice); no child_ref is kept, only counts and task/case/notice
ids to join later events to the school and kind they belong to.

Cheap by construction: the counters of a year and scope live in one row per group of figures
(`reports`, `tasks`, …), so an event reads and writes one or two rows, and `apply_many` folds
many events in memory and writes each touched row once."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from services.patrol.figures import counting
from shared.events import Envelope
from shared.store import DuplicateKeyError, Store, Writer
from shared.store.migrations import Migration

TALLIES_C = "figures_tallies"  # one row per year, scope and group: {figure: {key: n}}
SAMPLES_C = "figures_samples"  # acknowledgement and completion times, one row per task
REFS_C = "figures_refs"  # task, case, notice → school and kind
SEEN_C = "figures_counted"
COLLECTIONS = (TALLIES_C, SAMPLES_C, REFS_C, SEEN_C)
COMPONENT = "patrol.figures"
STATION = "*"


async def _indexes(port: Store) -> None:
    await port.ensure_index("figures_counts", ["year", "scope"])
    await port.ensure_index(SAMPLES_C, ["year", "scope"])


async def _tally_indexes(port: Store) -> None:
    await port.ensure_index(TALLIES_C, ["year", "scope"])


# Version 1's per-key rows (`figures_counts`, `figures_seen`) are no longer read: the durable
# consumers of version 2 have new names, so they count the streams again into the new rows.
MIGRATIONS = [
    Migration(1, "figures by year and scope", _indexes),
    Migration(2, "a row per group of figures", _tally_indexes),
]


@dataclass
class Tally:
    """Counts and samples folded in memory, written in one go (`flush`)."""

    rows: dict[tuple[int, str, str], dict[str, dict[str, int]]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    samples: list[dict[str, Any]] = field(default_factory=list)

    def add(self, count: counting.Count) -> None:
        scopes = (STATION, count.school) if count.school else (STATION,)
        for scope in scopes:
            for figure, key, n in count.adds:
                group = self.rows[(count.year, scope, figure.partition(".")[0])]
                keys = group.setdefault(figure, {})
                keys[key] = keys.get(key, 0) + n
            for figure, key, sample_id, value in count.samples:
                self.samples.append(
                    {
                        "id": f"{scope}|{sample_id}",
                        "year": count.year,
                        "scope": scope,
                        "figure": figure,
                        "key": key,
                        "value": value,
                    }
                )

    async def flush(self, tx: Writer) -> None:
        for (year, scope, group), figures in self.rows.items():
            row_id = f"{year}|{scope}|{group}"
            doc = await tx.get(TALLIES_C, row_id) or {
                "id": row_id,
                "year": year,
                "scope": scope,
                "counts": {},
            }
            counts: dict[str, dict[str, int]] = doc["counts"]
            for figure, keys in figures.items():
                held = counts.setdefault(figure, {})
                for key, n in keys.items():
                    held[key] = int(held.get(key, 0)) + n
            await tx.put(TALLIES_C, doc)
        for sample in self.samples:
            await tx.put(SAMPLES_C, sample)
        self.rows.clear()
        self.samples.clear()


class _Refs:
    """The refs `counting` reads and writes, in the event's transaction."""

    def __init__(self, tx: Writer) -> None:
        self._tx = tx

    async def get(self, ref: str) -> dict[str, Any] | None:
        return await self._tx.get(REFS_C, ref)

    async def put(self, ref: str, **fields: Any) -> None:
        await self._tx.put(REFS_C, {"id": ref, **fields})


async def fold(tx: Writer, envelope: Envelope, tally: Tally) -> bool:
    """Count `envelope` into `tally` once (marked seen now, written at `tally.flush`);
    False for an event counted already or not counted at all. The mark is inserted, not read
    first: one statement an event (a round trip on PostgreSQL); an event seen before found it
    there and adds nothing (the refs its count wrote again are the same)."""
    count = await counting.count(envelope, _Refs(tx))
    if count is None:
        return False
    try:
        await tx.insert(SEEN_C, {"id": envelope.id})
    except DuplicateKeyError:
        return False
    tally.add(count)
    return True


async def apply(tx: Writer, envelope: Envelope) -> bool:
    """Count `envelope` once; False for an event counted already or not counted at all."""
    return await apply_many(tx, [envelope]) == 1


async def apply_many(tx: Writer, envelopes: Sequence[Envelope]) -> int:
    """Count each of `envelopes` once, in order, writing each touched row once; how many
    were counted."""
    tally = Tally()
    counted = sum([await fold(tx, e, tally) for e in envelopes])
    await tally.flush(tx)
    return counted
