"""`make chaos`: every fault scenario against a fresh platform, then the table.

    python -m tests.chaos [--reports N] [--scenarios 1,2,3,4,5,6,7,8,9] [--keep]

Exits non-zero if any row misses the targets: 0 lost, 0 duplicate tasks, 0 duplicate
notifications, the expected dead letters (one for the poison event, none elsewhere), every
report accepted, and recovery within 10 seconds of the fault ending.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from tests.chaos.harness import SCENARIOS, Row, run_scenario, table


def _numbers(text: str) -> list[int]:
    numbers = [int(part) for part in text.split(",") if part.strip()]
    unknown = sorted(set(numbers) - set(SCENARIOS))
    if unknown or not numbers:
        raise argparse.ArgumentTypeError(f"scenarios are {sorted(SCENARIOS)}, not {unknown}")
    return numbers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.chaos",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--reports", type=int, default=1000, help="reports per scenario")
    parser.add_argument(
        "--scenarios", type=_numbers, default=sorted(SCENARIOS), help="e.g. 1,3,5 (default: all)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the data and logs")
    args = parser.parse_args(argv)
    base = Path(tempfile.mkdtemp(prefix="hulei-chaos-"))
    rows: list[Row] = []
    for number in args.scenarios:
        title = SCENARIOS[number].title
        print(f"scenario {number}: {title}, {args.reports} reports …", flush=True)
        started = time.monotonic()
        try:
            row = run_scenario(number, args.reports, base)
        except Exception as exc:  # a platform that will not even start is a failed row
            row = Row(number, title, args.reports, problems=[f"did not run: {exc!r}"])
        rows.append(row)
        print(f"  done in {time.monotonic() - started:.1f}s", flush=True)
    print()
    print(table(rows))
    failed = False
    for row in rows:
        for note in row.notes:
            print(f"  {row.number}: {note}")
        for miss in row.misses():
            failed = True
            print(f"  {row.number}: MISS {miss}")
    if failed or args.keep:
        print(f"data and logs: {base}")
    else:
        shutil.rmtree(base, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
