"""`make bench` in its quick form: the harness starts the platform, measures every row and
writes the table. Times are not asserted (the machine is shared); that each row has numbers is."""

from __future__ import annotations

import json
import os
import platform
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bench.shape import WHAT
from tests.pgserver import find_bin_dir
from tests.support import eventually_sync, proc_stat, required

ROOT = Path(__file__).resolve().parents[2]
MEASURED = [
    "pure-Python loop, CPU per 1 M steps (the interpreter's speed), at the start",
    "pure-Python loop, CPU per 1 M steps (the interpreter's speed), at the end",
    "bare FastAPI POST, pydantic body, c=1",
    "bare FastAPI POST, pydantic body, c=8",
    "bare FastAPI POST, pydantic body, c=32",
    "JetStream publish (sync always), one at a time",
    "JetStream publish (sync always), pipelined",
    "SQLite commit (WAL, synchronous=FULL), inline",
    "POST /v1/reports, c=1",
    "POST /v1/reports, c=8",
    "POST /v1/reports, c=32",
    "CPU a second with nothing to do, all processes (from /proc)",
    "→ both tasks created, 20 reports/s",
    "→ all 4 inbox entries, 20 reports/s",
    "→ both tasks created, 50 reports/s",
    "→ all 4 inbox entries, 50 reports/s",
    "end to end for 2 s (open loop)",
    "CPU per report, all processes (from /proc)",
    "accepted reports without their 2 tasks and 4 inbox entries",
    *(f"{part}: {side} CPU" for part in WHAT.values() for side in ("client", "NATS server")),
    "bare FastAPI POST, c=8: server CPU",
    "JetStream messages stored per report",
    "deliveries per report (durable consumers)",
    "gateway live-stream reads per report",
    "HTTP requests per report",
    "floor of this shape (bare parts × counts)",
    "this shape at the kernel's prices (kernel parts × counts)",
    "kernel overhead: delivery, trickle (kernel ÷ bare, client + server)",
    "kernel overhead: delivery, backlog (kernel ÷ bare, client + server)",
    "kernel overhead: publish (kernel ÷ bare, client + server)",
]


@pytest.mark.timeout(900)
def test_the_quick_bench_measures_every_row_and_writes_the_table(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tests.bench.run", "--quick", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=840,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (written,) = tmp_path.glob("bench-quick-*.json")
    table = json.loads(written.read_text())
    rows = {row["what"]: row for row in table["rows"]}

    assert [what for what in MEASURED if what not in rows] == []
    for what in MEASURED:
        row = rows[what]
        assert row["measured"], what
        numbers = [row[k] for k in ("rate", "p50", "p95", "p99", "value")]
        assert any(isinstance(n, int | float) for n in numbers), what
    assert rows["POST /v1/reports, c=8"]["ratio"] > 0
    assert rows["CPU per report, all processes (from /proc)"]["value"] > 0
    # The shape is counted, not assumed: a report stores events and has them delivered.
    # Its filing, one message each, and its intake: one carrier of the intake's events,
    # shared with the other reports case_tracking took in the same batch (shared/carried.py).
    assert rows["JetStream messages stored per report"]["value"] > 1
    # The filing to case_tracking, one each, and the intake's carrier to its consumers.
    assert rows["deliveries per report (durable consumers)"]["value"] > 1
    assert rows["floor of this shape (bare parts × counts)"]["value"] > 0
    fan_out = rows["publish → all 20 SSE clients, 50 events/s"]  # 200 in the full run
    assert fan_out["measured"]
    assert fan_out["p99"] is not None
    assert fan_out["p99"] >= fan_out["p50"]
    assert rows["gateway RSS per SSE client"]["value"] is not None
    list_rows = [r for r in table["rows"] if r["group"].startswith("lists and gets")]
    measured = [r for r in list_rows if r["measured"]]
    assert measured, list_rows
    assert all(r["p99"] is not None or r["value"] is not None for r in measured)
    for what in MEASURED:  # the printed table has the same rows
        assert what in done.stdout


def _needs_postgres() -> None:
    required(find_bin_dir(), "no PostgreSQL server binaries (initdb); `make install` installs them")


def _bench_module(*argv: str) -> subprocess.CompletedProcess[str]:
    """`python -m <argv>` from the repository, small; it must succeed."""
    done = subprocess.run(
        [sys.executable, "-m", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done


@pytest.mark.timeout(300)
def test_the_stream_fan_out_bench_delivers_every_event_to_every_client_once() -> None:
    """`python -m tests.bench.stream`, small: the figures are the machine's; none is lost."""
    done = _bench_module("tests.bench.stream", "--clients", "10", "--seconds", "2")
    result = json.loads(done.stdout[done.stdout.index("{") :])
    assert (result["events"], result["lost"], result["doubled"]) == (100, 0, 0)
    assert result["clients_failed"] == 0
    assert result["publish_to_every_client_ms"]["p99"] is not None
    assert result["rss_kib_per_client"] > 0


@pytest.mark.timeout(300)
def test_the_postgresql_unread_inbox_bench_times_every_page_with_both_filters() -> None:
    """`python -m tests.bench.pg_inbox`, small: its own PostgreSQL, both filters, each row."""
    _needs_postgres()
    done = _bench_module("tests.bench.pg_inbox", "--inbox", "2000", "--requests", "3")
    rows = [line for line in done.stdout.splitlines() if line.startswith("round ")]
    for name in ("missing or null (before)", "NULL (after)"):
        timed = [line for line in rows if name in line and "p99" in line]
        assert len(timed) == 2 * 3, done.stdout  # 2 rounds × 3 unread pages


@pytest.mark.timeout(300)
def test_the_nats_memory_bench_samples_the_server_with_its_heap() -> None:
    """`python -m tests.bench.nats_memory`, small: a sample per step, RSS and live heap each."""
    done = _bench_module(
        "tests.bench.nats_memory", "--case", "both", "--reports", "300", "--every", "100", "--prof"
    )
    samples = [line for line in done.stdout.splitlines() if " reports " in line and "RSS" in line]
    assert len(samples) == 4, done.stdout  # 0, 100, 200 and 300 reports
    assert all("live heap" in line for line in samples), done.stdout
    assert "per 100k msgs" in done.stdout


@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    "argv",
    [("--reports", "20", "--concurrency", "2"), ("--rate", "10", "--seconds", "2")],
    ids=["closed loop", "open loop"],
)
def test_the_cpu_bench_waits_for_every_report_and_prints_its_cost(argv: tuple[str, ...]) -> None:
    """`python -m tests.bench.cpu`, small, both loops: each report's tasks and inbox entries
    arrive before the CPU is read, and the cost of a report is a positive figure."""
    done = _bench_module("tests.bench.cpu", *argv)
    summary, per_process = done.stdout.strip().splitlines()[-2:]
    cost = float(summary.split("CPU ")[1].split(" ms")[0])
    assert cost > 0, done.stdout
    if argv[0] == "--rate":
        assert "refused 0" in summary, done.stdout  # 10 a second is far below capacity
    names = {part.split()[0] for part in per_process.split(", ")}
    assert {"gateway", "school_liaison", "case_tracking", "nats"} <= names, done.stdout
    (commits,) = [line for line in done.stdout.splitlines() if line.startswith("store commits")]
    _assert_commits_counted(commits)
    (speed,) = [line for line in done.stdout.splitlines() if line.startswith("interpreter: ")]
    assert float(speed.split("loop ")[1].split(" ms")[0]) > 0, done.stdout
    which = f"CPython {platform.python_version()} at {Path(sys.executable).resolve()}"
    assert speed.endswith(which), done.stdout


def _assert_commits_counted(line: str) -> None:
    """`store commits per report: school_liaison 0.48 (2.2 units each), …`: every service's
    commits per report, and each commit carried at least one unit of work."""
    parts = line.split(" per report: ")[1].split(", ")
    counted = {
        p.split()[0]: (float(p.split()[1]), float(p.split("(")[1].split()[0])) for p in parts
    }
    assert set(counted) == {"school_liaison", "case_tracking", "patrol", "notifications"}, line
    assert counted["school_liaison"][0] > 0, line  # each filing commits there
    assert all(units >= 1 for n, units in counted.values() if n > 0), line


@pytest.mark.timeout(300)
def test_the_cpu_bench_on_postgresql_counts_the_server_and_what_each_process_asked() -> None:
    """`python -m tests.bench.cpu --store postgres`, small: every process on its own database
    of a real server run as production runs it; the server's CPU is in the cost, and the
    statements and transactions of each process are counted per report (after a warm-up,
    whose reports are not counted in)."""
    _needs_postgres()
    done = _bench_module(
        "tests.bench.cpu", "--store", "postgres", "--warm-up", "5", "--reports", "20"
    )
    lines = done.stdout.strip().splitlines()
    asked = {line.split(" per report: ")[0]: line for line in lines if " per report: " in line}
    assert set(asked) == {"statements", "transactions", "store commits"}, done.stdout
    _assert_commits_counted(asked.pop("store commits"))
    for line in asked.values():
        total, _, by_process = line.split(" per report: ")[1].partition(" (")
        assert float(total) > 0, done.stdout
        names = {part.split()[0] for part in by_process.rstrip(")").split(", ")}
        assert names == {"gateway", "school_liaison", "case_tracking", "patrol", "notifications"}
    per_process = {part.split()[0]: float(part.split()[1]) for part in lines[-1].split(", ")}
    assert per_process["postgres"] > 0, done.stdout
    assert per_process["school_liaison"] > 0, done.stdout


@pytest.mark.timeout(300)
def test_the_lists_bench_times_every_row_and_removes_its_stores(tmp_path: Path) -> None:
    """`python -m tests.bench.lists`, small: a figure for each list and get, the sizes seeded,
    and its temporary stores gone when it ends (a city's, in a full run)."""
    out = tmp_path / "lists.json"
    done = _bench_module(
        "tests.bench.lists", "--cases", "200", "--inbox", "1000", "--requests", "3",
        "--json", str(out),
    )  # fmt: skip
    results = json.loads(out.read_text())
    assert results["sizes"]["cases"] == 200, done.stdout
    assert results["sizes"]["audit"] == 1000, done.stdout
    assert {r for r in results if r.startswith("gateway /v1/audit")} == {
        "gateway /v1/audit",
        "gateway /v1/audit outcome=denied",
        "gateway /v1/audit actor + outcome=error",
    }
    timed = [v for v in results.values() if isinstance(v, dict) and "p99_ms" in v]
    assert len(timed) >= 20, results
    assert all(v["p99_ms"] > 0 for v in timed), results
    stores = Path(done.stdout.splitlines()[0].removeprefix("stores in "))
    assert stores.name.startswith("hulei-lists-bench-"), done.stdout
    assert not stores.exists()


@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    ("argv", "printed"),
    [
        (("tests.bench.gateway", "--requests", "30", "--concurrency", "2"), "gateway CPU"),
        (("tests.bench.store", "--units", "50", "--rows", "500"), "point read (get by id)"),
        (
            (
                "tests.bench.soak",
                "--rate",
                "10",
                "--minutes",
                "0.1",
                "--every-s",
                "2",
                "--warm-up-s",
                "2",
            ),
            "RSS after warm-up",
        ),
    ],
    ids=["gateway", "store", "soak"],
)
def test_the_other_benches_run_small(argv: tuple[str, ...], printed: str) -> None:
    """The benches no other smoke test runs, each small: it ends well and prints its table."""
    done = _bench_module(*argv)
    assert printed in done.stdout, done.stdout


@pytest.mark.timeout(300)
def test_the_history_bench_prints_each_windows_cost_for_every_process() -> None:
    """`python -m tests.bench.history`, small: one child's reports, a figure per window."""
    done = _bench_module("tests.bench.history", "--reports", "8", "--windows", "2")
    rows = {line.split()[0]: line.split()[1:] for line in done.stdout.splitlines()[2:]}
    assert {"gateway", "school_liaison", "case_tracking", "nats", "all"} <= rows.keys()
    assert all(len(figures) == 3 for figures in rows.values()), done.stdout  # 2 windows, ratio
    assert float(rows["all"][0]) > 0, done.stdout


@pytest.mark.timeout(300)
def test_the_ab_runner_measures_two_trees_side_by_side() -> None:
    """`python -m tests.bench.ab`, one small pair: the last commit checked out beside this
    tree, both platforms loaded at once; a ratio and each process's figures come out, and the
    checkout is gone after."""
    done = _bench_module(
        "tests.bench.ab", "HEAD", "--pairs", "1", "--rate", "5", "--seconds", "2", "--warm-up", "5"
    )
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("pair 1: A "), done.stdout
    ratio = lines[-2].split("mean ")[1].split()[0]
    assert float(ratio) > 0, done.stdout
    names = {part.split()[0] for part in lines[-1].split(": ", 1)[1].split(", ")}
    assert {"gateway", "school_liaison", "case_tracking", "nats"} <= names, done.stdout
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "list"], capture_output=True, text=True, check=True
    ).stdout
    assert "hulei-ab-" not in listed


@pytest.mark.timeout(300)
def test_a_cpu_run_ended_by_sigterm_stops_the_platform_it_started(tmp_path: Path) -> None:
    """What the A/B runner does to a run it gives up on (and what `kill` does to one started
    in the background, where SIGINT is ignored): the run's platform is stopped, not left."""
    ready, go = tmp_path / "ready", tmp_path / "go"
    argv = ["tests.bench.cpu", "--rate", "5", "--seconds", "60"]
    argv += ["--ready-file", str(ready), "--go-file", str(go)]
    run = subprocess.Popen([sys.executable, "-m", *argv], cwd=ROOT, stdout=subprocess.DEVNULL)
    started: dict[str, str | None] = {}
    try:
        eventually_sync(ready.exists, within=120, interval=0.1)
        children = Path(f"/proc/{run.pid}/task/{run.pid}/children").read_text().split()
        assert len(children) >= 6, children  # nats-server, four services, the gateway
        started = {pid: _started(pid) for pid in children}
        go.touch()
        run.terminate()
        assert run.wait(timeout=60) == 128 + 15
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
        # Gone: no process with that id, or another one (the id used again) started since.
        left = [pid for pid, at in started.items() if _started(pid) == at]
        for pid in left:  # stopped here so that a failure leaves nothing running
            os.kill(int(pid), signal.SIGKILL)
    assert left == []


def _started(pid: str) -> str | None:
    """The process's start time (in clock ticks since boot), None if there is none."""
    try:
        return proc_stat(pid)[19]
    except OSError:  # as `proc_stat` says: gone, or ending while its file was read
        return None
