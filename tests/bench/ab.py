"""Two trees' CPU per report, measured at the same time so that both see the same host.

    python -m tests.bench.ab BASE [CHANGED] [--pairs 3] [--rate 40] [--seconds 30]
    python -m tests.bench.ab BASE [CHANGED] --reports 3000 [--concurrency 16]   (closed loop)
    python -m tests.bench.ab HEAD --env-b HULEI_SOME_SWITCH=1     (one tree, two settings)
    python -m tests.bench.ab HEAD --python-b /other/venv/bin/python  (one tree, two interpreters)
    … --store postgres      (each platform on a PostgreSQL server of its own, as production)

BASE and CHANGED are git revisions; CHANGED is the working tree as it is when left out
(uncommitted changes included), and so is BASE given as `.`. Each pair starts
`python -m tests.bench.cpu` in both trees at once; each warms its platform up, waits until the
other is warm too, then files reports open loop at `--rate` for `--seconds` (or `--reports`
closed loop), so the two loads run side by side and the host's speed, which moves by 2×
within minutes here, is the same for both. Sequential runs compare only when the host held
still between them; pairs run this way compare anyway (docs/performance.md, "Session 22").

The harness is this tree's: `tests/` is copied over each revision checked out, so an older
revision is measured by the same bench (its services, gateway, shared and deploy code are its
own). The rate is per platform: the two together must stay under what the machine keeps up
with, or the slower one's backlog runs alone at the end. Closed loop, the cheaper tree ends
first and the other runs its last part alone, on a less busy host, which makes a difference
look smaller, not larger.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from statistics import mean

ROOT = Path(__file__).resolve().parents[2]
GATE_WAIT_S = 600.0  # for the other run of a pair to start and warm up
RUN_TIMEOUT_S = 1800.0
STOP_WAIT_S = 60.0  # for a run told to stop to stop its platform
TOTAL = re.compile(r"CPU ([0-9.]+) ms per (?:accepted )?report")
PART = re.compile(r"([a-z_]+) ([0-9.]+)")


@dataclass(frozen=True)
class Gate:
    """Where a run waits, warm, for another to be warm too: it creates `ready` and starts its
    load once `go` exists (`tests.bench.cpu --ready-file --go-file`)."""

    ready: Path | None
    go: Path

    def wait(self) -> None:
        if self.ready is not None:
            self.ready.touch()
        _until(self.go.exists, what=f"{self.go} to appear")


@dataclass(frozen=True)
class Cost:
    """One run's CPU per report: all processes, and each."""

    total_ms: float
    parts: dict[str, float]

    @classmethod
    def parse(cls, output: str) -> Cost:
        """From `tests.bench.cpu`'s output: the total's line, then `name ms, name ms, …`."""
        lines = output.splitlines()
        for n, line in enumerate(lines):
            if found := TOTAL.search(line):
                after = lines[n + 1] if n + 1 < len(lines) else ""
                parts = {name: float(ms) for name, ms in PART.findall(after)}
                return cls(float(found.group(1)), parts)
        raise ValueError(f"no CPU figure in the run's output: {output[-2000:]}")


@contextmanager
def checked_out(revision: str | None, into: Path) -> Iterator[Path]:
    """The tree to run: this one (None or "."), or `revision` checked out in a new directory
    of `into` with this tree's `tests/` over it; removed after."""
    if revision in (None, "."):
        yield ROOT
        return
    tree = Path(tempfile.mkdtemp(prefix="tree-", dir=into))
    tree.rmdir()  # git makes it
    git = ["git", "-C", str(ROOT)]
    subprocess.run([*git, "worktree", "add", "--detach", "-q", str(tree), revision], check=True)
    try:
        shutil.rmtree(tree / "tests")
        shutil.copytree(
            ROOT / "tests", tree / "tests", ignore=shutil.ignore_patterns("__pycache__")
        )
        yield tree
    finally:
        subprocess.run([*git, "worktree", "remove", "--force", str(tree)], check=False)


def pair(
    trees: Sequence[Path],
    envs: Sequence[dict[str, str]],
    *,
    args: Sequence[str],
    scratch: Path,
    pythons: Sequence[str],
) -> list[Cost]:
    """Both runs at once, their loads started together, each on its interpreter; each run's
    cost."""
    go = scratch / "go"
    go.unlink(missing_ok=True)
    readies = [scratch / f"ready-{n}" for n in range(len(trees))]
    runs = []
    for tree, env, ready, python in zip(trees, envs, readies, pythons, strict=True):
        ready.unlink(missing_ok=True)
        argv = [python, "-m", "tests.bench.cpu", *args]
        argv += ["--ready-file", str(ready), "--go-file", str(go)]
        runs.append(
            subprocess.Popen(
                argv,
                cwd=tree,
                env={**os.environ, **env},
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    try:
        _all_ready(readies, runs)
        go.touch()
        outputs = [run.communicate(timeout=RUN_TIMEOUT_S)[0] for run in runs]
    finally:
        for run in runs:
            _stop(run)
    for run, output in zip(runs, outputs, strict=True):
        if run.returncode != 0:
            raise SystemExit(f"a run failed ({run.returncode}):\n{output[-3000:]}")
    return [Cost.parse(output) for output in outputs]


def exit_on_sigterm() -> None:
    """SIGTERM ends this process through its `finally` blocks (a run's platform is stopped,
    the runner's checkouts removed). SIGINT cannot serve: a job started in the background by a
    non-interactive shell ignores it, and so do its children."""

    def terminated(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminated)


def _stop(run: subprocess.Popen[str]) -> None:
    """SIGTERM, so that the run stops the platform it started (`exit_on_sigterm`); a kill only
    if it does not end."""
    if run.poll() is not None:
        return
    run.terminate()
    try:
        run.wait(timeout=STOP_WAIT_S)
    except subprocess.TimeoutExpired:
        run.kill()
        run.wait()


def _all_ready(readies: Sequence[Path], runs: Sequence[subprocess.Popen[str]]) -> None:
    """Until every run is warm, or one has ended (before its load: its output says why)."""

    def ready_or_ended() -> bool:
        ended = any(run.poll() is not None for run in runs)
        return ended or all(ready.exists() for ready in readies)

    _until(ready_or_ended, what="the runs to be warm")


def _until(done: Callable[[], bool], *, what: str) -> None:
    deadline = time.monotonic() + GATE_WAIT_S
    while not done():
        if time.monotonic() > deadline:
            raise SystemExit(f"waited {GATE_WAIT_S:.0f} s for {what}")
        time.sleep(0.05)  # a bounded poll of files another process creates


def pair_line(n: int, a: Cost, b: Cost) -> str:
    return (
        f"pair {n}: A {a.total_ms:.2f} ms, B {b.total_ms:.2f} ms per report, "
        f"B/A {b.total_ms / a.total_ms:.3f}"
    )


def report(costs: Sequence[tuple[Cost, Cost]]) -> str:
    """Each pair's totals and ratio, then the mean ratio, and each process's means."""
    lines = [pair_line(n, a, b) for n, (a, b) in enumerate(costs, start=1)]
    ratios = [b.total_ms / a.total_ms for a, b in costs]
    lines.append(
        f"B/A all processes: mean {mean(ratios):.3f} (from {min(ratios):.3f} to {max(ratios):.3f}"
        f", {len(ratios)} pairs)"
    )
    names = [name for name in costs[0][0].parts if all(name in b.parts for _, b in costs)]
    per = [
        f"{name} {mean(a.parts[name] for a, _ in costs):.2f} → "
        f"{mean(b.parts[name] for _, b in costs):.2f}"
        for name in names
    ]
    lines.append("mean ms per report, A → B: " + ", ".join(per))
    return "\n".join(lines)


def _env(pairs: Sequence[str]) -> dict[str, str]:
    env = {}
    for text in pairs:
        name, sep, value = text.partition("=")
        if not sep or not name:
            raise SystemExit(f"--env-a/--env-b take NAME=VALUE, not {text!r}")
        env[name] = value
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="git revision (A), or . for the working tree")
    parser.add_argument("changed", nargs="?", help="git revision (B); the working tree if left out")
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--rate", type=float, default=40.0, help="reports a second, each platform")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--reports", type=int, help="closed loop, this many each (not --rate)")
    parser.add_argument("--concurrency", type=int, default=16, help="with --reports")
    parser.add_argument("--warm-up", type=int, default=300)
    parser.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--env-a", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--env-b", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--python-a", default=sys.executable, help="the interpreter A runs on")
    parser.add_argument("--python-b", default=sys.executable, help="the interpreter B runs on")
    args = parser.parse_args()
    exit_on_sigterm()
    load = ["--warm-up", str(args.warm_up), "--store", args.store]
    if args.reports:
        load += ["--reports", str(args.reports), "--concurrency", str(args.concurrency)]
    else:
        load += ["--rate", str(args.rate), "--seconds", str(args.seconds)]
    with tempfile.TemporaryDirectory(prefix="hulei-ab-") as tmp, ExitStack() as stack:
        scratch = Path(tmp)
        a = stack.enter_context(checked_out(args.base, scratch))
        b = stack.enter_context(checked_out(args.changed, scratch))
        envs = [_env(args.env_a), _env(args.env_b)]
        costs = []
        for n in range(args.pairs):
            first, second = pair(
                [a, b], envs, args=load, scratch=scratch, pythons=[args.python_a, args.python_b]
            )
            costs.append((first, second))
            print(pair_line(n + 1, first, second), flush=True)
        print(report(costs))


if __name__ == "__main__":
    main()
