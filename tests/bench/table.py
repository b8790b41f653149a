"""The bench's rows: one type for every figure, the printed table, the JSON file."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

NUMBERS = ("rate", "p50", "p95", "p99", "value")


@dataclass
class Row:
    group: str
    what: str
    rate: float | None = None  # per second
    p50: float | None = None  # ms
    p95: float | None = None
    p99: float | None = None
    value: float | None = None  # in `unit`
    unit: str = ""
    ratio: float | None = None  # to the floor named in `note`
    note: str = ""
    target: str = ""  # issue 15's, for the rows it sets one for
    measured: bool = True

    @property
    def has_numbers(self) -> bool:
        return any(getattr(self, name) is not None for name in NUMBERS)


def not_measured(group: str, what: str, why: str) -> Row:
    return Row(group=group, what=what, note=why, measured=False)


def _cell(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if value >= 100 or value == int(value) else f"{value:.1f}"


def render(rows: list[Row]) -> str:
    width = max(len(r.what) for r in rows)
    head = f"{'':<{width}}  {'/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}   other"
    lines = [head]
    group = None
    for r in rows:
        if r.group != group:
            group = r.group
            lines.append(f"-- {group} " + "-" * (len(head) - len(group) - 4))
        other = []
        if r.value is not None:
            other.append(f"{_cell(r.value)} {r.unit}".strip())
        if r.ratio is not None:
            other.append(f"{100 * r.ratio:.1f} % of floor")
        if r.note:
            other.append(r.note)
        if r.target:
            other.append(f"[target {r.target}]")
        lines.append(
            f"{r.what:<{width}}  {_cell(r.rate):>7} {_cell(r.p50):>8} {_cell(r.p95):>8} "
            f"{_cell(r.p99):>8}   {'; '.join(other)}".rstrip()
        )
    return "\n".join(lines)


def write(path: Path, *, rows: list[Row], meta: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**meta, "rows": [asdict(r) for r in rows]}, indent=2) + "\n")


LISTS_GROUP = "lists and gets (100 k cases, 200 k tasks, 1 M inbox and 1 M audit entries)"


# What tests/bench/lists.py's run() is offered, by name: it takes those it declares.
# (cases, two tasks each; inbox entries; timed pages per row), full and quick.
LIST_SIZES = {False: (100_000, 1_000_000, 200), True: (500, 5_000, 10)}


async def list_rows(*, quick: bool, workdir: Path) -> list[Row]:
    """The list and get latencies, from tests/bench/lists.py (its seeding is the only one).
    Its result maps a row to {"p50_ms": …, "p99_ms": …} (p95_ms optional), a number, or
    anything else (shown as a note, e.g. the sizes seeded)."""
    from tests.bench import lists

    try:
        cases, inbox, requests = LIST_SIZES[quick]
        result = await lists.run(cases=cases, inbox=inbox, requests=requests, workdir=workdir)
    except Exception as exc:  # the rest of the table is still worth printing
        why = f"not measured (lists.run failed: {type(exc).__name__}: {exc})"
        return [not_measured(LISTS_GROUP, "lists and gets", why[:300])]
    rows = []
    for name, value in dict(result).items():
        if isinstance(value, dict) and ("p99_ms" in value or "p50_ms" in value):
            rows.append(
                Row(
                    group=LISTS_GROUP,
                    what=str(name),
                    p50=value.get("p50_ms"),
                    p95=value.get("p95_ms"),
                    p99=value.get("p99_ms"),
                    target="p99 ≤ 10 ms" if "/cases/{id}" in str(name) else "p99 ≤ 20 ms",
                )
            )
        elif isinstance(value, int | float) and not isinstance(value, bool):
            unit = "s" if str(name).endswith("_s") else ""
            rows.append(Row(group=LISTS_GROUP, what=str(name), value=float(value), unit=unit))
        else:
            rows.append(Row(group=LISTS_GROUP, what=str(name), note=str(value), measured=False))
    return rows
