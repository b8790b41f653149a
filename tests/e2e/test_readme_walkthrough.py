"""The README's walk-through, pasted as it stands into bash, against the platform as `make run`
starts it (`python -m deploy.launcher`, its ports moved by the environment variables the README
names, so it runs beside a real `make run`)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from deploy.launcher import free_port, free_port_block, wait_until

ROOT = Path(__file__).resolve().parents[2]
MARKER = "<!-- walkthrough"
BLOCK = re.compile(r"^```bash\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def walkthrough(readme: str) -> str:
    """The first ```bash block after the `<!-- walkthrough -->` comment."""
    start = readme.index(MARKER)
    found = BLOCK.search(readme, start)
    assert found is not None, "no ```bash block after the walkthrough marker"
    return found.group(1)


@pytest.fixture(scope="module")
def gateway_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`make run` in a directory of its own: the launcher, configured by environment only."""
    var = tmp_path_factory.mktemp("walkthrough")
    port = free_port()
    env = {
        **os.environ,
        "HULEI_VAR_DIR": str(var / "var"),
        "PORT": str(port),
        "NATS_PORT": str(free_port()),
        "SERVICE_BASE_PORT": str(free_port_block(4)),
    }
    with (var / "launcher.out").open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "deploy.launcher"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: see the finally below
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(
            lambda: (
                proc.poll() is None
                and httpx.get(f"{url}/readyz", timeout=1).status_code == 200
                and b"Hulei is running." in (var / "launcher.out").read_bytes()
            ),
            within=90,
            what=f"the launcher (output in {var / 'launcher.out'})",
        )
        yield url
    finally:
        proc.send_signal(signal.SIGINT)  # Ctrl-C, as in `make run`
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:  # its NATS and services too, not only itself
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_the_walkthrough_runs_as_pasted_and_ends_with_the_desks_open_tasks(
    gateway_url: str,
) -> None:
    script = walkthrough((ROOT / "README.md").read_text(encoding="utf-8"))
    assert "rep-…" not in script
    assert "case-…" not in script
    env = {**os.environ, "HULEI": gateway_url, "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
    run = subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + script],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, f"stdout:\n{run.stdout}\nstderr:\n{run.stderr}"
    out = run.stdout
    report = re.search(r"^report: (rep-\w+)$", out, re.MULTILINE)
    case = re.search(r"^case: (case-\w+)$", out, re.MULTILINE)
    assert report, out
    assert case, out
    case_id = case.group(1)
    assert re.search(r"^critical \[", out, re.MULTILINE), out  # the case's risk, chronology
    assert re.search(r"^acknowledged$", out, re.MULTILINE), out
    assert "Immediate home visit" in out  # officer1's inbox names his task
    # The second school's report about the same child joined the same case.
    joined = re.search(r"^report (rep-\w+) joined case: (case-\w+)$", out, re.MULTILINE)
    assert joined, out
    assert joined.group(1) != report.group(1), out
    assert joined.group(2) == case_id, out
    # The inspection cycle: the notice reported fixed, re-inspected and closed.
    assert re.search(r"^fixed_reported$", out, re.MULTILINE), out
    assert re.search(r"^rectification cctv closed$", out, re.MULTILINE), out
    # The last step: the desk's open tasks of that case. The acknowledged home visit took the
    # second report (the repeat rule); its family work is new, due as fast as the case's
    # critical risk demands: social work 4 h (truancy alone, medium: 72 h).
    rows = [line.split() for line in out.splitlines() if line.startswith(f"{case_id} ")]
    due = {(kind, who): datetime.fromisoformat(at) for _, kind, who, _, at in rows}
    assert sorted(due) == [("crisis_counselling", "org-rainbow"), ("family_work", "org-rainbow")]
    gap = due["family_work", "org-rainbow"] - due["crisis_counselling", "org-rainbow"]
    assert timedelta(0) <= gap < timedelta(minutes=1), out  # both 4 h after their report


def test_the_walkthrough_defaults_to_the_gateway_make_run_starts() -> None:
    script = walkthrough((ROOT / "README.md").read_text(encoding="utf-8"))
    assert "HULEI=${HULEI:-http://127.0.0.1:8000}" in script
