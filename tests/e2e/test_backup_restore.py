"""Issue 10's backup and restore, end to end: compose started from its manifests
(tests/manifests_run.py: PostgreSQL initialised with init.sql, every process on its own
database), the core flow through the gateway, deploy/backup/pg-dump-all.sh as an operator runs it
against compose, case_tracking's data dropped, then docs/operations.md's restore procedure, and
the same case read again through the gateway.

Marked deploy_full (~25 s, most of it compose's start): `make test-deploy` runs it.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx
import pytest

from tests import deploy_checks as dc
from tests.e2e.test_manifests_start import Flow, compose_spec, core_flow, started
from tests.manifests_run import Local

BACKUP = dc.DEPLOY / "backup"


def operator_env(local: Local) -> dict[str, str]:
    """What docs/operations.md's compose lines give the scripts: the published PostgreSQL, each
    role's password from .env, and the server's own client tools (the CronJob uses the server's
    image for the same reason: pg_dump must match the server)."""
    assert local.pg is not None
    assert local.spec.postgres is not None
    passwords = {k: v for k, v in local.spec.postgres.env.items() if k.startswith("PG_PASSWORD_")}
    return {
        "PATH": f"{local.pg.bin_dir}{os.pathsep}{os.environ['PATH']}",
        "PGHOST": "127.0.0.1",
        "PGPORT": str(local.pg.port),
        **passwords,
    }


def run(argv: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"{argv[:2]}: {done.stderr[-800:]}"
    return done.stdout


def stop(local: Local, name: str) -> None:
    """`docker compose stop <name>`: SIGTERM, then wait for the exit (bounded)."""
    proc = local.procs[name]
    proc.terminate()
    proc.wait(timeout=15)


def restart(local: Local, name: str) -> None:
    """`docker compose start <name>`: the manifest's command and environment, until ready."""
    local.start(name)
    local.probe(name)


def case_and_tasks(flow: Flow) -> tuple[httpx.Response, httpx.Response]:
    case = flow.gateway.get(f"/v1/cases/{flow.case_id}", headers=flow.reader)
    tasks = flow.gateway.get("/v1/tasks", params={"case_id": flow.case_id}, headers=flow.reader)
    return case, tasks


def by_id(tasks: list[dict[str, object]]) -> list[dict[str, object]]:
    return sorted(tasks, key=lambda t: str(t["id"]))


@pytest.mark.deploy_full
def test_a_case_dumped_dropped_and_restored_reads_the_same(tmp_path: Path) -> None:
    with started(compose_spec(tmp_path), tmp_path) as local:
        flow = core_flow(local)
        case, tasks = case_and_tasks(flow)
        assert case.status_code == 200, case.text
        assert tasks.json() == flow.tasks  # nothing changed them since the flow saw them
        env = operator_env(local)
        backups = tmp_path / "backups"
        run(["bash", str(BACKUP / "pg-dump-all.sh")], env | {"BACKUP_DIR": str(backups)})
        (backup,) = backups.iterdir()  # the one complete run (no .partial left)

        # The loss: case_tracking stopped (the procedure's step 1), its tables dropped by its own
        # role. Started again on the empty database it answers 404 for the case and its tasks: the
        # data really went.
        stop(local, "case_tracking")
        drop = "DROP SCHEMA public CASCADE; CREATE SCHEMA public;"
        password = env["PG_PASSWORD_CASE_TRACKING"]
        psql = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-U", "case_tracking"]
        run([*psql, "-d", "case_tracking", "-c", drop], env | {"PGPASSWORD": password})
        restart(local, "case_tracking")
        gone, no_tasks = case_and_tasks(flow)
        assert gone.status_code == 404, gone.text
        assert no_tasks.status_code == 404, no_tasks.text  # tasks of an unknown case

        # docs/operations.md's restore: stop, restore the newest complete run with the
        # database's own role, start again.
        stop(local, "case_tracking")
        run(["bash", str(BACKUP / "pg-restore.sh"), str(backup), "case_tracking"], env)
        restart(local, "case_tracking")
        restored, restored_tasks = case_and_tasks(flow)
        assert restored.status_code == 200, restored.text
        want, got = case.json(), restored.json()
        assert (got["id"], got["risk_level"]) == (flow.case_id, want["risk_level"])
        assert flow.report_id in got["report_ids"]
        assert got == want
        assert by_id(restored_tasks.json()) == by_id(flow.tasks)
