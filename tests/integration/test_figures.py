"""The year's figures through the gateway on real NATS and SQLite: reports, cases, tasks (their
acknowledgement and completion), a disposition, monitoring, the video patrol and the venues
counted by patrol's projection from the streams; a school's own; the CSV; and the projection
rebuilt from the streams' messages into an empty store equal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from services.patrol.figures import projection, service
from services.patrol.video.domain import VideoConfig
from shared.bus import Bus
from shared.events import Envelope, utcnow
from shared.identity import Principal, Role
from shared.store import open_store
from shared.store.migrations import migrate
from tests.integration.matrix_patrol import venue_body
from tests.support import REPORT, Gateway, eventually, resident_id

DESK = Principal(user_id="dispatcher1", role=Role.dispatcher)


def child(n: int, category: str, school: str = "sch-01") -> dict[str, Any]:
    return {
        **REPORT,
        "school_id": school,
        "category": category,
        "student": {"name": f"Figures Child {n}", "id_number": resident_id(n)},
    }


async def stream_events(bus: Bus) -> list[Envelope]:
    found = []
    for stream in ("SCHOOL", "CASES", "PATROL"):
        info = await bus.js.stream_info(stream)
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            data = (await bus.js.get_msg(stream, seq)).data or b""
            found.append(Envelope.model_validate_json(data))
    return found


async def test_the_years_figures_come_from_the_events_and_rebuild_equal(
    gateway: Gateway, admin_bus: Bus, tmp_path: Path
) -> None:
    filed = [
        (await gateway.file("teacher1", child(1, "self_harm"))).json()["id"],
        (await gateway.file("teacher1", child(2, "truancy"))).json()["id"],
        (await gateway.file("teacher10", child(3, "bullying_victim", "sch-10"))).json()["id"],
    ]
    tasks = [
        t
        for r, reader in zip(filed, ("teacher1", "teacher1", "teacher10"), strict=True)
        for t in await gateway.tasks_of(r, 2, reader=reader)
    ]
    police = next(t for t in tasks if t["assignee_user_id"] == "officer1")
    assert (await gateway.call("officer1", "POST", f"/v1/tasks/{police['id']}/ack")).is_success
    r = await gateway.call("officer1", "POST", f"/v1/tasks/{police['id']}/start")
    assert r.is_success, r.text
    done = {"outcome": "Visited; the family agreed to a plan"}
    r = await gateway.call("officer1", "POST", f"/v1/tasks/{police['id']}/done", json=done)
    assert r.is_success, r.text
    case = police["case_id"]
    ruling = {"kind": "detention_not_executed", "note": "decided; not executed (age)"}
    r = await gateway.call("dispatcher1", "POST", f"/v1/cases/{case}/dispositions", json=ruling)
    assert r.is_success, r.text
    watch = {"responsible_user_id": "social1", "interval_days": 14}
    r = await gateway.call("dispatcher1", "POST", f"/v1/cases/{case}/monitoring", json=watch)
    assert r.is_success, r.text
    config: VideoConfig = gateway.apps["patrol"].state.video_config
    for school in config.schools:
        body = {"school_id": school}
        r = await gateway.call("officer7", "POST", "/v1/video-patrol/checks", json=body)
        assert r.status_code == 201, r.text
    venue = (await gateway.call("supervisor1", "POST", "/v1/venues", json=venue_body())).json()
    letter = {"signed_on": "2026-01-10", "expires_on": "2029-01-09"}
    await gateway.call("supervisor1", "PUT", f"/v1/venues/{venue['id']}/letter", json=letter)
    year = utcnow().year

    async def counted() -> dict[str, Any] | None:
        got: dict[str, Any] = (await gateway.get("dispatcher1", "/v1/stats", year=year)).json()
        done = got["venues_with_letters"] == 1 and got["video_days_complete"] == 1
        acked = sum(t["acknowledged"] + t["completed"] for t in got["tasks_by_kind"].values())
        lifecycle = got["dispositions_by_kind"] and got["cases_under_monitoring"] == 1
        return got if done and lifecycle and acked == 2 and got["cases_opened"] == 3 else None

    got = await eventually(counted)
    assert got["reports_by_category"] == {"self_harm": 1, "truancy": 1, "bullying_victim": 1}
    assert got["reports_by_school"] == {"sch-01": 2, "sch-10": 1}
    assert sum(t["created"] for t in got["tasks_by_kind"].values()) == 6
    assert got["video_days_logged"] == 1
    assert got["dispositions_by_kind"] == {"detention_not_executed": 1}
    assert got["escalations"] == {}
    (visit,) = [t for t in got["tasks_by_kind"].values() if t["completed"]]
    assert visit["done_median_s"] is not None
    own = (await gateway.get("teacher1", "/v1/stats", year=year)).json()
    assert (own["scope"], own["reports_by_school"], own["cases_opened"]) == (
        "sch-01",
        {"sch-01": 2},
        2,
    )
    csv = await gateway.get("supervisor1", "/v1/stats", year=year, format="csv")
    assert csv.headers["content-type"].startswith("text/csv")
    assert "cases_opened,3\n" in csv.text
    assert (await gateway.get("officer1", "/v1/stats", year=year)).status_code == 403
    assert (await gateway.get("dispatcher1", "/v1/stats")).status_code == 422

    fresh = await open_store(f"sqlite:///{tmp_path / 'rebuilt.db'}")
    await migrate(fresh, component=projection.COMPONENT, migrations=projection.MIGRATIONS)
    await service.rebuild(fresh, await stream_events(admin_bus))
    rebuilt = await service.figures(fresh, caller=DESK, year=year, schools=len(config.schools))
    await fresh.close()
    assert rebuilt.model_dump(mode="json") == got
