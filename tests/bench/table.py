"""The bench's rows: one type for every figure, the printed table, the JSON file."""

from __future__ import annotations

import importlib.util
import inspect
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


LISTS_GROUP = "lists and gets (100 k cases, 200 k tasks, 1 M inbox entries)"


async def list_rows(*, quick: bool, workdir: Path) -> list[Row]:
    """The list and get latencies, from tests/bench/lists.py (its seeding is the only one).

    Its contract: `run(*, quick: bool, workdir: Path) -> dict` (sync or async; it may take
    fewer of these keywords), each value either {"p50_ms": …, "p99_ms": …} (p95_ms and n
    optional) or a number; a string value is shown as a note (e.g. the sizes seeded).
    """
    if importlib.util.find_spec("tests.bench.lists") is None:
        return [not_measured(LISTS_GROUP, "lists and gets", "not measured (no tests/bench/lists)")]
    from tests.bench import lists  # type: ignore[attr-defined,unused-ignore]

    run = lists.run
    offered = {"quick": quick, "workdir": workdir}
    accepted = inspect.signature(run).parameters
    result = run(**{k: v for k, v in offered.items() if k in accepted})
    if inspect.isawaitable(result):
        result = await result
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
                    target="p99 ≤ 10 ms" if "get" in str(name).lower() else "p99 ≤ 20 ms",
                )
            )
        elif isinstance(value, int | float) and not isinstance(value, bool):
            rows.append(Row(group=LISTS_GROUP, what=str(name), value=float(value)))
        else:
            rows.append(Row(group=LISTS_GROUP, what=str(name), note=str(value), measured=False))
    return rows
