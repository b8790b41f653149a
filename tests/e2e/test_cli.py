"""`hulei`, the operators' CLI, against the platform as `make run` starts it (Typer's runner)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from deploy.launcher import Platform, Ports
from ops.cli import app
from shared.bus import Bus
from shared.streams import CONSUMERS, STREAMS
from tests.integration.test_dead_letters import poison_report
from tests.support import eventually

FAST_DEAD_LETTERS = {
    "HULEI_CASE_TRACKING_MAX_DELIVER": "2",
    "HULEI_CASE_TRACKING_RETRY_BASE_S": "0.05",
}


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with Platform(
        var_dir=tmp_path_factory.mktemp("var"), ports=Ports.free(), extra_env=FAST_DEAD_LETTERS
    ) as p:
        yield p


class Hulei:
    def __init__(self, url: str) -> None:
        self.url = url
        self.runner = CliRunner()

    def __call__(self, *args: str, user: str = "admin1", code: int = 0) -> str:
        argv = ["--url", self.url, "--user", user, "--password", "demo", *args]
        result = self.runner.invoke(app, argv, env={"COLUMNS": "200"})  # tables unwrapped
        assert result.exit_code == code, result.output
        return result.output

    def json(self, *args: str, user: str = "admin1", code: int = 0) -> Any:
        """Global options (`--page-size`) go before the command, as `--json` does."""
        return json.loads(self("--json", *args, user=user, code=code))


@pytest.fixture(scope="module")
def hulei(platform: Platform) -> Hulei:
    return Hulei(platform.gateway_url)


def _login(platform: Platform, form: dict[str, str]) -> int:
    return httpx.post(f"{platform.gateway_url}/v1/auth/token", data=form).status_code


def test_a_user_is_created_with_a_password_shown_once_and_deactivated(
    platform: Platform, hulei: Hulei
) -> None:
    made = hulei.json(
        "users", "create", "teacher9", "--role", "teacher", "--display-name", "T Nine",
        "--school-id", "sch-01",
    )  # fmt: skip
    assert _login(platform, {"username": "teacher9", "password": made["password"]}) == 200
    # Five to a page: the list is whole only if every `Link: next` was followed.
    listed = [u["id"] for u in hulei.json("--page-size", "5", "users", "list")]
    assert "teacher9" in listed
    assert len(listed) > 5
    assert listed == sorted(set(listed))  # by username, none twice
    hulei("users", "deactivate", "teacher9")
    assert _login(platform, {"username": "teacher9", "password": made["password"]}) == 401
    assert "refused" in hulei("users", "list", user="teacher1", code=1)


def test_a_partner_clients_secret_is_rotated(platform: Platform, hulei: Hulei) -> None:
    made = hulei.json(
        "clients", "create", "ngo-7", "--role", "social_worker", "--display-name", "NGO 7",
        "--org-id", "org-01",
    )  # fmt: skip
    form = {"grant_type": "client_credentials", "client_id": "ngo-7"}
    assert _login(platform, form | {"client_secret": made["client_secret"]}) == 200
    rotated = hulei.json("clients", "rotate-secret", "ngo-7")
    assert _login(platform, form | {"client_secret": made["client_secret"]}) == 401
    assert _login(platform, form | {"client_secret": rotated["client_secret"]}) == 200
    hulei("clients", "deactivate", "ngo-7")
    assert _login(platform, form | {"client_secret": rotated["client_secret"]}) == 401


def test_streams_show_every_stream_and_every_consumers_lag(hulei: Hulei) -> None:
    state = hulei.json("streams")
    assert [s["name"] for s in state["streams"]] == [s.name for s in STREAMS]
    durables = {c["durable"]: c for s in state["streams"] for c in s["consumers"]}
    assert set(durables) == {c.durable for c in CONSUMERS}
    assert all(isinstance(c["pending"], int) for c in durables.values())
    table = hulei("streams")
    assert "consumer lag" in table
    assert "case_tracking-school" in table


def test_a_dead_letter_is_listed_shown_and_replayed(platform: Platform, hulei: Hulei) -> None:
    async def poison() -> None:
        bus = Bus(url=platform.nats_url, name="cli-test", **platform.credentials("school_liaison"))
        await bus.connect()
        try:
            await bus.publish(poison_report())
        finally:
            await bus.close()

    asyncio.run(poison())

    async def listed() -> list[Any] | None:
        letters = hulei.json("dead-letters", "list")
        return [d for d in letters if d["event_type"] == "school.report.filed"] or None

    letters = asyncio.run(eventually(listed, within=30))
    first = letters[0]["id"]
    assert hulei.json("dead-letters", "show", str(first))["event_type"] == "school.report.filed"
    replayed = hulei.json("dead-letters", "replay", "--all")
    assert first in {d["id"] for d in replayed}
    assert first not in {d["id"] for d in hulei.json("dead-letters", "list")}
    assert "give one" in hulei("dead-letters", "replay", code=2)


def test_the_audit_trail_verifies(hulei: Hulei) -> None:
    assert hulei.json("audit", "verify", user="auditor1")["ok"] is True


def test_the_years_figures_export_as_csv(hulei: Hulei, tmp_path: Path) -> None:
    out = tmp_path / "figures.csv"
    year = str(datetime.now(UTC).year)
    hulei("figures", "export", "--year", year, "--out", str(out), user="supervisor1")
    lines = out.read_text().splitlines()
    assert len(lines) > 1
    assert "," in lines[0]


USERS_CSV = "username,display_name,role,school_id,org_id,school_ids,password\n"


def test_a_bad_row_imports_nothing_and_names_its_line_and_field(
    hulei: Hulei, tmp_path: Path
) -> None:
    bad = tmp_path / "staff.csv"
    bad.write_text(
        USERS_CSV
        + "teacher31,Teacher 31,teacher,sch-02,,,\n"
        + "officer31,Officer 31,police_officer,,,,\n"  # an officer without a beat
        + "teacher31,Again,teacher,sch-02,,,\n"  # the same username twice
        + "dispatcher1,Taken,dispatcher,,,,\n"  # already on the platform
    )
    report = hulei.json("import", "users", str(bad), code=2)
    assert {(p["line"], p["field"]) for p in report} >= {
        (3, "school_ids"),  # the field the officer's scope needs
        (4, "username"),
        (5, "username"),
    }
    assert "teacher31" not in {u["id"] for u in hulei.json("users", "list")}


def test_staff_and_venues_import_from_csv(platform: Platform, hulei: Hulei, tmp_path: Path) -> None:
    staff = tmp_path / "staff.csv"
    staff.write_text(
        USERS_CSV
        + "teacher41,Teacher 41,teacher,sch-03,,,\n"
        + "officer41,Officer 41,police_officer,,,sch-03;sch-04,\n"
    )
    made = hulei.json("import", "users", str(staff))
    assert [m["username"] for m in made] == ["teacher41", "officer41"]
    assert _login(platform, {"username": "officer41", "password": made[1]["password"]}) == 200
    venues = tmp_path / "venues.csv"
    venues.write_text(
        "name,kind,area,address,nearest_school_id,distance_m,contact_name,contact_phone\n"
        "Star KTV,entertainment,grid-9,1 Road,sch-03,350,Manager Wu,13800000000\n"
    )
    made = hulei.json("import", "venues", str(venues), user="officer1")
    assert made[0]["name"] == "Star KTV"
    venues.write_text(
        "name,kind,area,address,nearest_school_id,distance_m,contact_name,contact_phone\n"
        "Moon Hotel,hotel,grid-9,2 Road,sch-03,far,Manager Li,13900000000\n"
    )
    report = hulei.json("import", "venues", str(venues), user="officer1", code=2)
    assert report == [{"line": 2, "field": "distance_m", "problem": report[0]["problem"]}]


SCHOOLS_CSV = "id,name,district,is_liaison_station,community_officer_id,social_org_id\n"


def test_schools_import_from_csv_in_one_batch_and_are_listed(hulei: Hulei, tmp_path: Path) -> None:
    good = tmp_path / "schools.csv"
    good.write_text(
        SCHOOLS_CSV
        + "sch-61,Hexi School No. 1,Hexi station district,false,officer2,org-harbour\n"
        + "sch-62 ,Hexi School No. 2,Hexi station district,yes,officer3,org-harbour\n"
    )
    made = hulei.json("import", "schools", str(good))
    assert [(m["id"], m["community_officer_id"]) for m in made] == [
        ("sch-61", "officer2"),
        ("sch-62", "officer3"),
    ]
    listed = {s["id"]: s for s in hulei.json("--page-size", "5", "schools", "list")}
    assert {"sch-01", "sch-21", "sch-61", "sch-62"} <= set(listed)
    assert listed["sch-62"]["is_liaison_station"] is True
    assert listed["sch-61"]["district"] == "Hexi station district"
    assert "Hexi School No. 2" in hulei("schools", "list")  # the table
    # The same file again: every id is taken now, and nothing is sent.
    again = hulei.json("import", "schools", str(good), code=2)
    assert {(p["line"], p["field"]) for p in again} == {(2, "id"), (3, "id")}


def test_a_bad_school_row_imports_nothing_and_names_its_line_and_field(
    hulei: Hulei, tmp_path: Path
) -> None:
    bad = tmp_path / "schools.csv"
    bad.write_text(
        SCHOOLS_CSV
        + "sch-71,Fine School,Hexi station district,false,officer2,org-harbour\n"
        + "sch/72,Slash School,Hexi station district,false,officer2,org-harbour\n"
        + "sch-73,Social School,Hexi station district,false,social1,org-harbour\n"
        + "sch-71,Again School,Hexi station district,false,officer2,org-harbour\n"
        + "sch-01,Taken School,Hexi station district,false,officer2,org-harbour\n"
        + "sch-76,Maybe School,Hexi station district,perhaps,officer2,org-harbour\n"
        + "sch-77,,Hexi station district,false,officer2,org-harbour\n"
    )
    report = hulei.json("import", "schools", str(bad), code=2)
    assert {(p["line"], p["field"]) for p in report} == {
        (3, "id"),
        (4, "community_officer_id"),
        (5, "id"),
        (6, "id"),
        (7, "is_liaison_station"),
        (8, "name"),
    }
    assert "nothing imported" in hulei("import", "schools", str(bad), code=2)
    listed = {s["id"] for s in hulei.json("schools", "list")}
    assert not {"sch-71", "sch-73", "sch-76", "sch-77"} & listed
    # Only an administrator registers schools (and reads the accounts the import checks).
    assert "refused" in hulei("import", "schools", str(bad), user="supervisor1", code=1)
