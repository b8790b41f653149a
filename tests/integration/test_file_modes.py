"""A service process makes its files private itself, whatever umask it was started with."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from deploy.launcher import Platform, free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]


def test_a_service_started_with_a_lax_umask_writes_owner_only_files(
    declared: Platform, tmp_path: Path
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "HULEI_PATROL_DEMO_MODE": "true",
        "HULEI_PATROL_NATS_URL": declared.nats_url,
        "HULEI_PATROL_NATS_USER": "patrol",
        "HULEI_PATROL_NATS_PASSWORD": declared.nats_passwords["patrol"],
        "HULEI_PATROL_PORT": str(port),
        "HULEI_PATROL_STORE_URL": f"sqlite:///{tmp_path / 'patrol.db'}",
    }
    log = (tmp_path / "patrol.log").open("wb")
    # umask 022 (the usual default): files would be world-readable unless serve() fixes it.
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.patrol"], env=env, cwd=ROOT, stdout=log, stderr=log,
        umask=0o022,
    )  # fmt: skip
    try:
        ready = f"http://127.0.0.1:{port}/readyz"
        wait_until(
            lambda: httpx.get(ready, timeout=1.0).status_code == 200, within=30, what="patrol"
        )
        files = [p for p in tmp_path.glob("patrol.db*") if p.is_file()]
        assert files
        assert {p.name: oct(p.stat().st_mode & 0o777) for p in files} == {
            p.name: "0o600" for p in files
        }
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:  # one stuck before it could serve: no leftovers
            proc.kill()
            proc.wait()
        log.close()
