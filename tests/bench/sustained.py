"""The sustained row of `make bench`: the highest open-loop rate the platform keeps up with
for a minute, and what a report costs in CPU meanwhile.

The rate is stepped up by ×1.4 in short steps while the platform keeps up, then held for
`sustain_s`. A short step can hold at a rate a minute cannot (the backlog it leaves is
absorbed within the step's grace), so a hold that falls behind is tried again ÷1.2 lower, at
most `HOLDS` times, and then once between the lowest rate that fell behind and the one that
kept up (a ceiling of 340/s read as 291 after a minute at 349 fell behind): the row is the
highest rate that kept up for the whole minute, and the JSON keeps every attempt.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.bench import shape
from tests.bench.flow import Bench
from tests.bench.table import Row

DRAIN_S = 600.0  # a backlog still there after ten minutes is reported, not waited for
UP, DOWN = 1.4, 1.2
HOLDS = 3


async def settle(bench: Bench, *, within_s: float) -> tuple[dict[str, dict[str, int]], bool]:
    """Wait until no durable consumer has a message waiting or unacknowledged: `bench.drain`
    waits for tasks and inbox entries only, and what nobody times (case links, figures) must
    not be counted in the next phase. The last snapshot, and whether it settled in time."""
    started = time.monotonic()
    while any((counts := await shape.snapshot(bench.platform))["waiting"].values()):
        if time.monotonic() - started > within_s:
            return counts, False
        await asyncio.sleep(0.1)  # a bounded poll of the consumers' state, as admin
    return counts, True


async def search(
    bench: Bench, *, first_rate: float, step_s: float, max_steps: int, refine: int = 0
) -> tuple[float, list[dict[str, Any]]]:
    """Step the rate up by ×1.4 while the platform keeps up (everything offered in a step done
    within 2 s of its end; down by ÷1.4 if the first step is already too fast), then halve
    the ×1.4 between the last rate that held and the first that did not `refine` times: the
    highest rate that held, and the steps. (Without the halving a ceiling of 340/s read as
    295, the step below it.)"""
    steps: list[dict[str, Any]] = []
    rate, best, above, factor = first_rate, None, None, UP
    for _ in range(max_steps):
        if await _step(bench, rate=rate, step_s=step_s, steps=steps):
            best = rate
            if factor < 1:
                above = rate * UP
                break  # stepping down: the first rate that holds
        elif best is not None:
            above = rate
            break  # stepping up: the last rate that held
        else:
            factor = 1 / UP  # the first step was already too fast: step down instead
        rate *= factor
    if best is None:
        return rate, steps
    for _ in range(refine):
        if above is None:
            break  # every step held: no ceiling found to close in on
        middle = (best * above) ** 0.5
        if await _step(bench, rate=middle, step_s=step_s, steps=steps):
            best = middle
        else:
            above = middle
    return best, steps


async def _step(bench: Bench, *, rate: float, step_s: float, steps: list[dict[str, Any]]) -> bool:
    """One step at `rate`: whether it held; recorded in `steps`."""
    print(f"  step: {rate:.0f} reports/s …", flush=True)
    await settle(bench, within_s=DRAIN_S)  # the last step's tail first
    load = await bench.open(rate=rate, duration_s=step_s, tag=f"step{rate:.0f}")
    backlog_s = await bench.drain(within_s=DRAIN_S)
    behind = load.elapsed_s - step_s + (backlog_s if backlog_s is not None else DRAIN_S)
    held = not load.errors and behind <= 2.0
    steps.append({"rate": rate, "behind_s": behind, "held": held, "errors": load.errors})
    return held


async def hold(bench: Bench, *, rate: float, sustain_s: float) -> dict[str, Any]:
    """`rate` for `sustain_s`, then until drained: whether it kept up, and the CPU and the
    shape of its window."""
    print(f"  sustained: {rate:.0f} reports/s for {sustain_s:.0f} s …", flush=True)
    # The window holds this minute's work and all of it: none left by the phases before (a
    # minute that did not hold leaves a backlog), and its own tail that the drain does not
    # wait for (case links, figures). Keeping up is judged by the drain alone.
    counts_before, _ = await settle(bench, within_s=DRAIN_S)  # outside the CPU window
    cpu_before, started = bench.cpu(), time.monotonic()
    load = await bench.open(rate=rate, duration_s=sustain_s, tag=f"sustain{rate:.0f}")
    drained = await bench.drain(within_s=DRAIN_S)
    total_s = time.monotonic() - started
    # Not drained: the backlog is reported, not waited for a second time.
    counts_after, settled = await settle(bench, within_s=DRAIN_S if drained is not None else 0)
    cpu_after = bench.cpu()
    used = {name: cpu_after[name] - before for name, before in cpu_before.items()}
    return {
        "offered_per_s": rate,
        "accepted": load.ok,
        "errors": load.errors,
        "total_s": total_s,
        "drained": drained is not None,
        "settled": settled,
        "kept_up": drained is not None and not load.errors and total_s <= sustain_s + 2.0,
        "cpu_ms_per_report": {n: 1000 * s / max(1, load.ok) for n, s in used.items()},
        "shape": shape.shape(counts_before, counts_after, load.ok),
    }


async def holds(
    bench: Bench, *, rate: float, sustain_s: float
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Minutes from `rate` down by ÷1.2 until one keeps up (at most HOLDS), then, if one fell
    behind, one at the geometric middle of the two: every attempt, and the one the rows are
    of (the highest that kept up, else the last)."""
    attempts: list[dict[str, Any]] = []
    for _ in range(HOLDS):
        attempts.append(await hold(bench, rate=rate, sustain_s=sustain_s))
        if attempts[-1]["kept_up"] or not attempts[-1]["drained"]:
            break
        rate /= DOWN
    kept = [a for a in attempts if a["kept_up"]]
    if kept and len(attempts) > 1:
        middle = (rate * rate * DOWN) ** 0.5  # between `rate` (kept up) and the one above
        attempts.append(await hold(bench, rate=middle, sustain_s=sustain_s))
        kept = [a for a in attempts if a["kept_up"]]
    chosen = max(kept, key=lambda a: a["offered_per_s"]) if kept else attempts[-1]
    return attempts, chosen


async def measure(
    bench: Bench,
    *,
    first_rate: float,
    step_s: float,
    max_steps: int,
    refine: int,
    sustain_s: float,
) -> tuple[dict[str, Any], list[Row]]:
    """The search, then holds until one keeps up (at most HOLDS): the result for the JSON and
    the two rows, of the hold that kept up (else the last)."""
    rate, steps = await search(
        bench, first_rate=first_rate, step_s=step_s, max_steps=max_steps, refine=refine
    )
    attempts, chosen = await holds(bench, rate=rate, sustain_s=sustain_s)
    failed = [a for a in attempts if not a["kept_up"]]
    errors: dict[str, int] = {}
    for attempt in attempts:
        for key, n in attempt["errors"].items():
            errors[key] = errors.get(key, 0) + n
    late = chosen["total_s"] - sustain_s
    note = f"offered {chosen['offered_per_s']:.0f}/s, " + (
        "kept up" if chosen["kept_up"] else f"done {late:.1f} s late"
    )
    if chosen["errors"]:
        note += f", refused or failed {chosen['errors']}"
    if failed:
        note += "; " + ", ".join(f"{a['offered_per_s']:.0f}/s" for a in failed)
        note += " did not hold for the minute"
    per_report = chosen["cpu_ms_per_report"]
    rows = [
        Row(
            "sustained",
            f"end to end for {sustain_s:.0f} s (open loop)",
            chosen["accepted"] / chosen["total_s"],
            note=note,
            target="≥ 300/s, 0 lost",
        ),
        Row(
            "sustained",
            "CPU per report, all processes (from /proc)",
            value=sum(per_report.values()),
            unit="ms",
            note="during the sustained run; " + largest(per_report),
            target="≤ 5 ms",
        ),
    ]
    result = {**chosen, "steps": steps, "attempts": attempts, "errors": errors}
    return result, rows


def largest(per_process: dict[str, float]) -> str:
    """The three largest figures by process, for a row's note."""
    top = sorted(per_process.items(), key=lambda kv: -kv[1])[:3]
    return ", ".join(f"{name} {ms:.1f}" for name, ms in top)
